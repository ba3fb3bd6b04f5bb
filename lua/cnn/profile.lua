-- cnn.profile(fn [, opts]): runs fn and reports where its time went, as torch.profiler's table:
-- wall time and calls per op kind, forward and backward apart, and per nn module class.
-- - Forward ops are timed in the binding layer (csrc/lua_util.c: a call hook stamps each call,
--   push_result charges the time since to the op's name); backward ops per graph node in the
--   autograd engine (csrc/autograd.c). Off, each path pays one branch.
-- - Modules: while a profile runs, Module:__call (lua/cnn/nn/module.lua) times each module's
--   forward; a module's self time is its forward minus its children's, i.e. the ops its own
--   forward ran (and the Lua around them). Backward is not attributed to modules.
-- - Ops that give no new tensor (in-place updates, optimizer steps, Lua-side work) are not in
--   the op rows; the report's `other` is the wall time they and the bookkeeping took.
-- CNN_PROFILE=1 in the environment profiles the whole script and prints the table at exit.
-- Spec: spec/profile_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"

local P = { active = false }
local clock = cnn._profile_clock

local stack, mods = {}, {}

-- Module:__call while a profile runs: `call` is the plain call
function P.module_call(m, call, ...)
  local mt = getmetatable(m)
  local name = mt and mt.__name or "?"
  name = name:gsub("^nn%.", "")
  local d = #stack + 1
  stack[d] = 0
  local t0 = clock()
  local out = table.pack(call(m, ...))
  local dt = clock() - t0
  local child = stack[d]
  stack[d] = nil
  if d > 1 then stack[d - 1] = stack[d - 1] + dt end
  local e = mods[name]
  if not e then e = { name = name, calls = 0, seconds = 0, total = 0 }; mods[name] = e end
  e.calls = e.calls + 1
  e.total = e.total + dt
  e.seconds = e.seconds + (dt - child)
  return table.unpack(out, 1, out.n)
end

local function by_time(a, b)
  if a.seconds ~= b.seconds then return a.seconds > b.seconds end
  return a.name < b.name
end

local Report = {}
Report.__index = Report
Report.__name = "cnn.profile report"

-- the report as text: the top rows of each table (opts.top, default 25)
function Report:table(top)
  top = top or 25
  local out = {}
  local function add(fmt, ...) out[#out + 1] = fmt:format(...) end
  add("cnn.profile: %.2f ms wall; ops %.2f ms (forward %.2f, backward %.2f), other %.2f ms",
    self.total * 1e3, (self.forward + self.backward) * 1e3, self.forward * 1e3, self.backward * 1e3,
    self.other * 1e3)
  add("%-28s %-8s %8s %10s %7s", "op", "pass", "calls", "ms", "share")
  for i, r in ipairs(self.ops) do
    if i > top then add("... %d more", #self.ops - top) break end
    add("%-28s %-8s %8d %10.2f %6.1f%%", r.name, r.pass, r.calls, r.seconds * 1e3, r.share * 100)
  end
  if #self.modules > 0 then
    add("%-28s %8s %10s %10s %7s", "module (self time)", "calls", "self ms", "total ms", "share")
    for i, r in ipairs(self.modules) do
      if i > top then add("... %d more", #self.modules - top) break end
      add("%-28s %8d %10.2f %10.2f %6.1f%%", r.name, r.calls, r.seconds * 1e3, r.total * 1e3, r.share * 100)
    end
  end
  return table.concat(out, "\n")
end
Report.__tostring = Report.table

local function stop(t0)
  local total = clock() - t0
  local raw = cnn._profile_stop() or {}
  P.active = false
  local rep = setmetatable({ total = total, ops = {}, modules = {}, forward = 0, backward = 0 }, Report)
  for _, r in ipairs(raw) do
    local pass = r.backward and "backward" or "forward"
    rep.ops[#rep.ops + 1] = { name = r.name, pass = pass, calls = r.calls, seconds = r.seconds }
    rep[pass] = rep[pass] + r.seconds
  end
  for _, e in pairs(mods) do rep.modules[#rep.modules + 1] = e end
  for k in pairs(mods) do mods[k] = nil end
  for k in pairs(stack) do stack[k] = nil end
  table.sort(rep.ops, by_time)
  table.sort(rep.modules, by_time)
  for _, r in ipairs(rep.ops) do r.share = total > 0 and r.seconds / total or 0 end
  for _, r in ipairs(rep.modules) do r.share = total > 0 and r.seconds / total or 0 end
  rep.other = math.max(0, total - rep.forward - rep.backward)
  return rep
end

local function start()
  if P.active then A.error("cnn.profile: a profile is already running (profiles do not nest)") end
  cnn._profile_start()
  P.active = true
  return clock()
end

-- cnn.profile(fn [, opts]) -> report, fn's results. opts: print (print the table, default false),
-- top (rows printed per table, default 25)
function P.profile(fn, opts)
  A.func("cnn.profile", 1, "fn", fn)
  opts = A.opts("cnn.profile", 2, opts, { "print", "top" })
  local pr = A.bool("cnn.profile", 2, "print", opts.print, false)
  local top = A.int("cnn.profile", 2, "top", opts.top, 1, 25)
  local t0 = start()
  local res = table.pack(pcall(fn))
  local rep = stop(t0)
  if not res[1] then error(res[2], 0) end
  if pr then print(rep:table(top)) end
  return rep, table.unpack(res, 2, res.n)
end

-- CNN_PROFILE=1: profile from now on; the table prints when the state closes
function P._at_exit()
  if P.active then return end
  local t0 = start()
  P._sentinel = setmetatable({}, { __gc = function()
    if P.active then io.stderr:write(stop(t0):table(40), "\n") end
  end })
end

return P
