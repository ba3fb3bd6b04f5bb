-- The Lua modules' errors: they point at the user's call (docs/api.md, "Errors"), describe
-- tensors as `float32 [2,3]`, and every public Lua function answers hostile arguments with a
-- "cnn.*" message, never a raw Lua error or a crash (the fuzz driver below).
local cnn = require "cnn"
local nn = require "cnn.nn"
local H = require "spec.helpers"

-- the message of fn's error, and the line of this file where fn's body starts
local function err_of(fn)
  local ok, e = pcall(fn)
  assert(not ok, "expected an error")
  return tostring(e), debug.getinfo(fn, "S").linedefined
end

-- the error raised by a one-line function points at that line of this file
local function at_user_line(fn, text)
  local e, line = err_of(fn)
  local want = ("spec/lua_api_fuzz_spec.lua:%d: %s"):format(line, text)
  assert(e:sub(1, #want) == want, ("expected\n  %s\ngot\n  %s"):format(want, e))
end

describe("Lua module errors", function()
  it("point at the user's call, whatever the depth inside lua/cnn", function()
    at_user_line(function() nn.Linear(1 / 0, 2) end, "cnn.nn.Linear: argument 1 (in_features): expected a positive integer, got inf")
    at_user_line(function() nn.Conv2d(3, 4, 3, { groups = 2 }) end, "cnn.nn.Conv2d: argument 4 (groups)")
    at_user_line(function() nn.Linear(2, 3, { bais = true }) end, "cnn.nn.Linear: argument 3 (options): unknown option 'bais'")
    at_user_line(function() cnn.optim.SGD({}, { lr = 0.1 }) end, "cnn.optim.SGD: argument 1 (params): got an empty parameter list")
    at_user_line(function() cnn.optim.SGD(nn.Linear(2, 2), { nesterov = true }) end, "cnn.optim.SGD: argument 2 (options): nesterov")
    at_user_line(function() nn.Sequential { nn.ReLU() }:load_state_dict({ x = cnn.zeros(1) }) end, "cnn.nn.Module.load_state_dict: unexpected keys: x")
    at_user_line(function() cnn.image.load(3) end, "cnn.image.load: argument 1 (path)")
    at_user_line(function() cnn.image.load("/nonexistent.png") end, "cnn.image.load: ")
    at_user_line(function() cnn.image.crop(cnn.zeros(1, 4, 4), 3, 3, 3, 3) end, "cnn.image.crop: a 3x3 crop at (3,3)")
    at_user_line(function() cnn.metrics.auc_ci({ 0.1, 0.9 }, { 0, 1 }, { level = 2 }) end, "cnn.metrics.auc_ci: option level")
    at_user_line(function() cnn.data.Subset(cnn.data.TensorDataset(cnn.zeros(3)), { 4 }) end, "cnn.data.Subset: argument 2 (indices)")
    at_user_line(function() cnn.plot.lines({ y = { 1 }, x = { 1, 2 } }, "/tmp/x.svg") end, "cnn.plot.lines: series 1")
    at_user_line(function() cnn.cli.parse({ "--nope" }, { { "lr", 1 } }) end, "cnn.cli: unknown option --nope")
    at_user_line(function() cnn.progress.bar(-1) end, "cnn.progress.bar: argument 1 (total)")
    at_user_line(function() cnn.nn.init.xavier_uniform_(cnn.zeros(3)) end, "cnn.nn.init.xavier_uniform_: argument 1 (tensor)")
    at_user_line(function() cnn.models.resnet18 { num_classes = 0 } end, "cnn.models.resnet18: argument 1 (num_classes)")
    at_user_line(function() cnn.gradcheck(3, {}) end, "cnn.gradcheck: argument 1 (fn)")
  end)

  it("point at the user's line when a library function calls back into the user's code", function()
    local line
    local ds = cnn.data.MapDataset(cnn.data.TensorDataset(cnn.zeros(2, 1, 4, 4)), function(s)
      line = debug.getinfo(1, "l").currentline + 1
      local y = cnn.image.resize(s[1], -1)                      -- not a tail call: this frame stays
      return y
    end)
    local e = err_of(function() ds:get(1) end)
    local want = ("spec/lua_api_fuzz_spec.lua:%d: cnn.image.resize: "):format(line)
    assert.are.equal(want, e:sub(1, #want))
  end)

  it("describe tensors as dtype and sizes", function()
    H.errors(function() nn.Linear(cnn.zeros(2, 3), 2) end, "expected a positive integer, got float32 [2,3]")
    H.errors(function() nn.Module():to(cnn.zeros(1, 2, "float64")) end, 'expected "float32" or "float64", got float64 [1,2]')
    assert.are.equal("float32 [2,3]", require("cnn.nn.argcheck").describe(cnn.zeros(2, 3)))
  end)
end)
