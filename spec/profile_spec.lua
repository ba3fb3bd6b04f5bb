-- cnn.profile(fn [, opts]): time per op kind (forward in the bindings, backward per graph node)
-- and per module class. The counts are checked against the calls the spec makes itself; the
-- times against the spec's own wall clock.
local cnn = require "cnn"
local nn, F = cnn.nn, cnn.nn.functional

local function small_cnn()
  cnn.manual_seed(1)
  return nn.Sequential { nn.Conv2d(3, 8, 3, { padding = 1 }), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 8 * 8, 10) }
end

local function row(rep, name, pass)
  for _, r in ipairs(rep.ops) do
    if r.name == name and r.pass == pass then return r end
  end
end

local function module_row(rep, name)
  for _, r in ipairs(rep.modules) do
    if r.name == name then return r end
  end
end

describe("cnn.profile", function()
  it("names the ops of a small CNN's training steps, forward and backward, with their call counts", function()
    local m = small_cnn()
    local x, y = cnn.randn(4, 3, 16, 16), cnn.randint(1, 11, { 4 })
    local rep = cnn.profile(function()
      for _ = 1, 3 do
        local loss = F.cross_entropy(m(x), y)
        loss:backward()
      end
    end)
    for _, op in ipairs { "conv2d", "batch_norm", "relu", "max_pool2d" } do
      local f, b = row(rep, op, "forward"), row(rep, op, "backward")
      assert.is_truthy(f, op .. " forward")
      assert.is_truthy(b, op .. " backward")
      assert.are.equal(3, f.calls, op .. " forward calls")
      assert.are.equal(3, b.calls, op .. " backward calls")
    end
    assert.are.equal(3, row(rep, "linear", "forward").calls)
    -- the modules: each layer's forward ran 3 times, the Sequential 3 times
    for _, name in ipairs { "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "Sequential" } do
      local r = module_row(rep, name)
      assert.is_truthy(r, name)
      assert.are.equal(3, r.calls, name .. " calls")
      assert.is_true(r.seconds >= 0 and r.seconds <= r.total + 1e-9)
    end
    -- the Sequential's total holds its children's
    local kids = 0
    for _, name in ipairs { "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Flatten", "Linear" } do
      kids = kids + module_row(rep, name).total
    end
    assert.is_true(module_row(rep, "Sequential").total >= kids - 1e-9)
  end)

  it("counts each call of a plain op and gives non-negative times that sum to at most the wall time", function()
    local a, b = cnn.randn(64, 64), cnn.randn(64, 64)
    local t0 = cnn._profile_clock()
    local rep = cnn.profile(function()
      for _ = 1, 5 do cnn.matmul(a, b) end
      for _ = 1, 7 do a:relu() end
      for _ = 1, 2 do cnn.cat({ a, b }, 1) end
    end)
    local wall = cnn._profile_clock() - t0
    assert.are.equal(5, row(rep, "matmul", "forward").calls)
    assert.are.equal(7, row(rep, "relu", "forward").calls)
    assert.are.equal(2, row(rep, "cat", "forward").calls)
    assert.is_nil(row(rep, "matmul", "backward"))         -- no grad: no backward rows
    local sum = 0
    for _, r in ipairs(rep.ops) do
      assert.is_true(r.seconds >= 0)
      assert.is_true(r.share >= 0 and r.share <= 1)
      sum = sum + r.seconds
    end
    assert.is_true(sum <= rep.total + 1e-9)
    assert.is_true(rep.total <= wall + 1e-9)
    assert.is_true(rep.other >= 0)
    -- sorted by time, largest first
    for i = 2, #rep.ops do assert.is_true(rep.ops[i - 1].seconds >= rep.ops[i].seconds) end
  end)

  it("is off by default and off again after a profile (also when fn raised)", function()
    assert.is_nil(cnn._profile_stop())                    -- nothing was running
    assert.is_false(require("cnn.profile").active)
    assert.has_error(function() cnn.profile(function() error("boom", 0) end) end, "boom")
    assert.is_false(require("cnn.profile").active)
    assert.is_nil(cnn._profile_stop())
    -- a profile after an error starts from zero
    local rep = cnn.profile(function() cnn.ones(3):relu() end)
    assert.are.equal(1, row(rep, "relu", "forward").calls)
  end)

  it("returns fn's results after the report and prints the table on request", function()
    local rep, a, b = cnn.profile(function() return 1, "two" end)
    assert.are.equal(1, a)
    assert.are.equal("two", b)
    assert.are.equal(0, #rep.ops)
    local text = tostring(cnn.profile(function() cnn.ones(2, 2):relu() end))
    assert.is_truthy(text:find("relu", 1, true))
    assert.is_truthy(text:find("cnn.profile:", 1, true))
  end)

  it("errors on bad arguments and on nesting", function()
    assert.has_error(function() cnn.profile(1) end, "cnn.profile: argument 1 (fn): expected a function, got 1")
    assert.has_error(function() cnn.profile() end, "cnn.profile: argument 1 (fn): expected a function, got nil")
    assert.error_matches(function() cnn.profile(function() end, { bogus = 1 }) end, "unknown option 'bogus'", 1, true)
    assert.error_matches(function() cnn.profile(function() end, { print = "yes" }) end,
      "cnn.profile: argument 2 (print): expected a boolean, got \"yes\"", 1, true)
    assert.error_matches(function() cnn.profile(function() end, { top = 0 }) end,
      "cnn.profile: argument 2 (top): expected a positive integer", 1, true)
    assert.error_matches(function() cnn.profile(function() cnn.profile(function() end) end) end,
      "a profile is already running", 1, true)
    assert.is_false(require("cnn.profile").active)
  end)

  it("CNN_PROFILE=1 profiles a whole script and prints the table at exit", function()
    local code = "local cnn = require 'cnn'; local m = cnn.nn.Linear(4, 3); "
      .. "for _ = 1, 3 do m(cnn.randn(2, 4)):relu():sum():backward() end"
    local p = assert(io.popen(("CNN_PROFILE=1 bin/cnn -e %q 2>&1"):format(code)))
    local out = p:read("a")
    p:close()
    assert.is_truthy(out:find("cnn.profile:", 1, true), out)
    assert.is_truthy(out:find("linear%s+forward%s+3"), out)
    assert.is_truthy(out:find("relu%s+backward%s+3"), out)
    assert.is_truthy(out:find("Linear%s+3"), out)
    local p2 = assert(io.popen(("bin/cnn -e %q 2>&1"):format(code)))       -- off by default
    assert.are.equal("", p2:read("a"))
    p2:close()
  end)
end)
