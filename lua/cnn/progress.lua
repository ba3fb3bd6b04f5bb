-- cnn.progress: a progress bar for training loops. On a terminal it redraws one line (count,
-- percentage, bar, elapsed, ETA, rate and the metrics given); otherwise it prints a plain line
-- every `every` seconds (and at the end), so logs stay readable. Spec: progress_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local class = require "cnn._class"
local progress = {}

local now = os.clock
do -- wall time if lua-system is there (os.clock counts CPU time of every thread)
  local ok, system = pcall(require, "system")
  if ok and system.monotime then now = system.monotime end
end

local function hms(s)
  if s ~= s or s == math.huge then return "?" end
  s = math.floor(s + 0.5)
  if s >= 3600 then return ("%d:%02d:%02d"):format(s // 3600, s % 3600 // 60, s % 60) end
  return ("%02d:%02d"):format(s // 60, s % 60)
end

local function metrics_str(m)
  if not m then return "" end
  local keys = {}
  for k in pairs(m) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = m[k]
    parts[#parts + 1] = type(v) == "number" and ("%s=%.4g"):format(k, v) or ("%s=%s"):format(k, tostring(v))
  end
  return table.concat(parts, " ")
end

local Bar = class("cnn.progress.Bar")
local SILENT = { write = function() end, flush = function() end }

-- bar(total, {desc=, out=io.stdout, tty=auto, width=30, every=10 (seconds, non-terminal),
--             min_interval=0.1 (seconds between redraws), clock=})
function progress.bar(total, opts)
  local fn = "cnn.progress.bar"
  if total ~= nil and (math.type(total) ~= "integer" and not (type(total) == "number" and math.tointeger(total))
                       or total < 0 or total > 2 ^ 53) then
    A.fail(fn, 1, "total", "an integer >= 0 or nil", total)
  end
  total = total and math.tointeger(total)
  opts = A.opts(fn, 2, opts, { "desc", "out", "tty", "width", "every", "min_interval", "clock" })
  if opts.desc ~= nil then A.str(fn, 2, "desc", opts.desc) end
  if opts.out ~= nil and (io.type(opts.out) ~= "file" and (type(opts.out) ~= "table" or type(opts.out.write) ~= "function")) then
    A.fail(fn, 2, "out", "a file or a table with write and flush", opts.out)
  end
  A.bool(fn, 2, "tty", opts.tty)
  A.int(fn, 2, "width", opts.width, 1, 30)
  if opts.width and opts.width > 1000 then A.fail(fn, 2, "width", "an integer in 1..1000", opts.width) end
  A.finite(fn, 2, "every", opts.every, 10, 0)
  A.finite(fn, 2, "min_interval", opts.min_interval, 0.1, 0)
  A.func(fn, 2, "clock", opts.clock, true)
  local out = opts.out or io.stdout
  -- CNN_PROGRESS=0 silences the bars that draw on standard output (batch jobs, the specs' log)
  if opts.out == nil and os.getenv("CNN_PROGRESS") == "0" then out = SILENT end
  local tty = opts.tty
  if tty == nil then tty = out == io.stdout and cnn._data.isatty(1) end
  local user_clock = opts.clock or now
  local function clock()            -- a clock must give seconds as a number
    local t = user_clock()
    if type(t) ~= "number" or t ~= t then A.error(fn .. ": the clock returned " .. A.describe(t) .. ", expected a number") end
    return t
  end
  local b = setmetatable({ total = total, n = 0, desc = opts.desc, out = out, tty = tty, width = opts.width or 30,
                           every = opts.every or 10, min_interval = opts.min_interval or 0.1, clock = clock,
                           t0 = clock(), closed = false }, Bar)
  b.last = b.t0 - math.huge
  return b
end

-- the status line for the current count
function Bar:line()
  local el = self.clock() - self.t0
  local rate = el > 0 and self.n / el or 0
  local parts = {}
  if self.desc then parts[#parts + 1] = self.desc .. ":" end
  if self.total and self.total > 0 then
    local f = math.min(self.n / self.total, 1)
    parts[#parts + 1] = ("%3d%%"):format(math.floor(f * 100))
    if self.tty then
      local full = math.floor(f * self.width)
      parts[#parts + 1] = "|" .. ("#"):rep(full) .. ("."):rep(self.width - full) .. "|"
    end
    parts[#parts + 1] = ("%d/%d"):format(self.n, self.total)
    local eta = rate > 0 and (self.total - self.n) / rate or 0 / 0
    parts[#parts + 1] = ("[%s<%s, %s/s]"):format(hms(el), hms(eta), rate >= 100 and ("%.0f"):format(rate) or ("%.3g"):format(rate))
  else
    parts[#parts + 1] = ("%d [%s, %.3g/s]"):format(self.n, hms(el), rate)
  end
  local m = metrics_str(self.metrics)
  if m ~= "" then parts[#parts + 1] = m end
  return table.concat(parts, " ")
end

function Bar:draw(final)
  local t = self.clock()
  if self.tty then
    if final or t - self.last >= self.min_interval then
      self.out:write("\r", self:line(), "\27[K")
      if final then self.out:write("\n") end
      self.out:flush()
      self.last = t
    end
  elseif final or t - self.last >= self.every then
    self.out:write(self:line(), "\n")
    self.out:flush()
    self.last = t
  end
end

-- update([n=1] [, metrics]): n more done; metrics (a table of numbers or strings) are shown
-- until replaced
function Bar:update(n, metrics)
  local fn = "cnn.progress.update"
  if type(n) == "table" then n, metrics = 1, n end
  if self.closed then A.error(fn .. ": the bar was closed") end
  n = A.int(fn, 1, "n", n, 0, 1)
  if self.n + n > 2 ^ 53 then A.fail(fn, 1, "n", "a count that keeps the total below 2^53", n) end
  if metrics ~= nil then A.table(fn, 2, "metrics", metrics, "a table of numbers or strings") end
  self.n = self.n + n
  if metrics then self.metrics = metrics end
  self:draw(false)
  return self
end

function Bar:close()
  if self.closed then return end
  self.closed = true
  self:draw(true)
end
Bar.__close = Bar.close

return progress
