-- cnn.progress: the terminal line (redrawn in place) and the plain periodic lines, driven by a
-- fake clock and a fake output stream.
local progress = require "cnn.progress"
local H = require "helpers"

local function sink()
  local s = { text = "" }
  function s:write(...) for _, v in ipairs({ ... }) do self.text = self.text .. v end end
  function s:flush() end
  return s
end

describe("cnn.progress", function()
  it("redraws one line on a terminal with count, percentage, rate, elapsed, ETA and metrics", function()
    local t, out = 0, sink()
    local bar = progress.bar(100, { desc = "epoch 1", out = out, tty = true, clock = function() return t end, width = 10 })
    t = 2
    bar:update(50, { loss = 0.25, acc = 0.5 })
    assert.are.equal("\repoch 1:  50% |#####.....| 50/100 [00:02<00:02, 25/s] acc=0.5 loss=0.25\27[K", out.text)
    t = 2.05
    bar:update(10)                                       -- within min_interval: not redrawn
    assert.is_nil(out.text:find("60/100", 1, true))
    t = 4
    bar:update(40, { loss = 0.125 })
    bar:close()
    assert.is_truthy(out.text:find("\repoch 1: 100% |##########| 100/100 [00:04<00:00, 25/s] loss=0.125\27[K\n", 1, true))
    bar:close()                                          -- twice is harmless
    H.errors(function() bar:update(1) end, "cnn.progress.update: the bar was closed")
  end)

  it("prints plain lines every `every` seconds when not on a terminal", function()
    local t, out = 0, sink()
    local bar = progress.bar(10, { out = out, tty = false, every = 5, clock = function() return t end })
    for i = 1, 10 do t = i; bar:update() end
    bar:close()
    local lines = {}
    for l in out.text:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.same({ " 10% 1/10 [00:01<00:09, 1/s]", " 60% 6/10 [00:06<00:04, 1/s]", "100% 10/10 [00:10<00:00, 1/s]" }, lines)
    assert.is_nil(out.text:find("\r", 1, true))
  end)

  it("counts without a total", function()
    local t, out = 0, sink()
    local bar = progress.bar(nil, { out = out, tty = false, clock = function() return t end })
    t = 1; bar:update(3); bar:close()
    assert.is_truthy(out.text:find("3 [00:01, 3/s]", 1, true))
    H.errors(function() progress.bar(-1) end, "cnn.progress.bar: argument 1 (total): expected an integer >= 0 or nil, got -1")
  end)
end)

describe("CNN_PROGRESS=0", function()
  it("silences bars that draw on standard output, not those given an out", function()
    local lua = arg and arg[-1] or "lua5.4"
    local code = [[local b = require("cnn").progress.bar(3, {desc = "x"}); b:update(3); b:close()
                   local t = {}; local c = require("cnn").progress.bar(2, {out = {write = function(_, s) t[#t+1] = s end, flush = function() end}, tty = false})
                   c:update(2); c:close(); io.stderr:write(#t > 0 and "drawn" or "silent")]]
    local function run(env)
      local p = io.popen(("%s LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='lua/?.so;;' lua5.4 -e %q 2>&1"):format(env, code))
      local s = p:read("a"); p:close(); return s
    end
    local quiet, loud = run("CNN_PROGRESS=0"), run("CNN_PROGRESS=1")
    assert.are.equal("drawn", quiet)             -- the bar with its own out still draws
    assert.truthy(loud:find("x: 100%", 1, true)) -- stdout bar drawn without the variable
    assert.truthy(loud:find("drawn", 1, true))
  end)
end)
