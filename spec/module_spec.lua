local cnn = require "cnn"
local H = require "helpers"
local nn = cnn.nn

local function mlp()
  cnn.manual_seed(7)
  return nn.Sequential{ nn.Linear(3, 4), nn.ReLU(), nn.Sequential{ nn.Linear(4, 2), nn.Tanh() } }
end

describe("nn.Module", function()
  it("names parameters with dotted 1-based paths in registration order", function()
    local names = {}
    for n, p in mlp():named_parameters() do names[#names + 1] = n .. "=" .. table.concat(p:size(), "x") end
    assert.same({ "1.weight=4x3", "1.bias=4", "3.1.weight=2x4", "3.1.bias=2" }, names)
  end)

  it("lists parameters, children and modules and counts parameters", function()
    local m = mlp()
    assert.equal(4, #m:parameters())
    assert.equal(3, #m:children())
    assert.equal(6, #m:modules())
    assert.equal(4 * 3 + 4 + 2 * 4 + 2, m:num_parameters())
  end)

  it("runs forward when called, and registers fields in a user-defined class", function()
    local Net = nn.Module:extend("Net")
    function Net:__init(k)
      self.fc = nn.Linear(k, 2)
      self.scale = cnn.ones({ 2 }, { requires_grad = true })
      self:register_buffer("count", cnn.zeros({ 1 }))
    end
    function Net:forward(x) return self.fc(x) * self.scale end
    local net = Net(3)
    local y = net(cnn.randn(5, 3))
    assert.same({ 5, 2 }, y:size())
    local names = {}
    for n in net:named_parameters() do names[#names + 1] = n end
    assert.same({ "scale", "fc.weight", "fc.bias" }, names)
    assert.equal(1, #net:buffers())
    assert.truthy(tostring(net):find("Net  scale [2] {", 1, true))
  end)

  it("switches train/eval everywhere", function()
    local m = mlp()
    assert.is_true(m[3][1].training)
    m:eval()
    assert.is_false(m.training); assert.is_false(m[3][1].training)
    m:train()
    assert.is_true(m[3][2].training)
  end)

  it("zero_grad drops gradients; apply visits every module", function()
    local m = mlp()
    m(cnn.randn(2, 3)):sum():backward()
    assert.truthy(m[1].weight.grad)
    m:zero_grad()
    assert.is_nil(m[1].weight.grad)
    local n = 0
    m:apply(function() n = n + 1 end)
    assert.equal(6, n)
  end)

  it("requires_grad_(false) freezes a part", function()
    local m = mlp()
    m[1]:requires_grad_(false)
    assert.is_false(m[1].weight:requires_grad())
    assert.equal(2 * 4 + 2, m:num_parameters(true))
    m(cnn.randn(2, 3)):sum():backward()
    assert.is_nil(m[1].weight.grad)
    assert.truthy(m[3][1].weight.grad)
  end)

  it("state_dict round-trips through load_state_dict", function()
    local a, b = mlp(), nn.Sequential{ nn.Linear(3, 4), nn.ReLU(), nn.Sequential{ nn.Linear(4, 2), nn.Tanh() } }
    b:load_state_dict(a:state_dict())
    local x = cnn.randn(3, 3)
    H.close(a(x), b(x), 0)
  end)

  it("strict loading names missing and unexpected keys and shape mismatches", function()
    local m = mlp()
    local sd = m:state_dict()
    sd["3.1.bias"] = nil
    sd["3.1.weight"] = cnn.zeros(5, 4)
    sd["head.weight"] = cnn.zeros(1)
    H.errors(function() m:load_state_dict(sd) end,
      "cnn.nn.Module.load_state_dict: missing keys: 3.1.bias; unexpected keys: head.weight; " ..
      "shape mismatches: 3.1.weight (checkpoint [5,4], model [2,4])")
    sd["3.1.weight"] = cnn.zeros(2, 4)
    local r = m:load_state_dict(sd, { strict = false })
    assert.same({ "3.1.bias" }, r.missing_keys)
    assert.same({ "head.weight" }, r.unexpected_keys)
    H.close(m[3][1].weight, cnn.zeros(2, 4), 0)
  end)

  it("prints the tree Torch7-style with parameter shapes", function()
    assert.equal([[
nn.Sequential {
  [input -> (1) -> (2) -> (3) -> output]
  (1): nn.Linear(3 -> 4)  weight [4,3]  bias [4]
  (2): nn.ReLU
  (3): nn.Sequential {
    [input -> (1) -> (2) -> output]
    (1): nn.Linear(4 -> 2)  weight [2,4]  bias [2]
    (2): nn.Tanh
  }
}]], tostring(mlp()))
  end)

  it("converts to float64 for gradcheck", function()
    local m = mlp():double()
    assert.equal("float64", m[1].weight:dtype())
    H.gradcheck(function(x) return m(x) end, { cnn.randn({ 2, 3 }, { dtype = "float64", requires_grad = true }) })
  end)

  it("checks arguments", function()
    H.errors(function() nn.Linear(-3, 2) end, "cnn.nn.Linear: argument 1 (in_features): expected a positive integer, got -3")
    H.errors(function() nn.Linear(3, 2.5) end, "cnn.nn.Linear: argument 2 (out_features): expected a positive integer, got 2.5")
    H.errors(function() mlp():load_state_dict(5) end, "cnn.nn.Module.load_state_dict: argument 1 (state_dict): expected a table of tensors, got 5")
    H.errors(function() nn.Module()(1) end, "cnn.nn.Module: nn.Module does not define forward")
  end)

  it("raw Lua errors become cnn messages: register_parameter(nil), bad names, Linear(1/0, 2)", function()
    H.errors(function() nn.Module():register_parameter(nil, cnn.zeros(2)) end,
      "cnn.nn.Module.register_parameter: argument 1 (name): expected a non-empty string without dots, got nil")
    H.errors(function() nn.Module():register_buffer(0 / 0, cnn.zeros(2)) end, "cnn.nn.Module.register_buffer: argument 1 (name)")
    H.errors(function() nn.Module():add_module("a.b", nn.ReLU()) end, "cnn.nn.Module.add_module: argument 1 (name)")
    H.errors(function() nn.Linear(1 / 0, 2) end, "cnn.nn.Linear: argument 1 (in_features): expected a positive integer, got inf")
    H.errors(function() nn.Linear(2 ^ 63, 2) end, "cnn.nn.Linear: argument 1 (in_features): expected a positive integer, got 9.2233720368548e+18")
    H.errors(function() nn.Linear(2, 3)(cnn.zeros(4, 5)) end, "cnn.linear: argument 1 (input)")
    H.errors(function() nn.Module.extend(3, "X") end, "cnn.nn.Module.extend: self: expected a module class")
  end)

  it("one class idiom: modules, optimizers, schedulers, datasets and progress bars", function()
    local construct = getmetatable(nn.Module).__call
    assert.is_function(construct)
    for _, cls in ipairs({ nn.Linear, nn.Sequential, cnn.optim.SGD, cnn.optim.Adam, cnn.optim.lr_scheduler.StepLR,
                           cnn.optim.lr_scheduler.ReduceLROnPlateau }) do
      assert.are.equal(construct, getmetatable(cls).__call)
    end
    -- the public API is unchanged: classes are callable tables, data's constructors functions
    local Net = nn.Module:extend("Net")
    function Net:__init() self.fc = nn.Linear(2, 1) end
    function Net:forward(x) return self.fc(x) end
    assert.same({ 3, 1 }, Net()(cnn.zeros(3, 2)):size())
    assert.equal("Net {\n  (fc): nn.Linear(2 -> 1)  weight [1,2]  bias [1]\n}", tostring(Net()))
    assert.is_function(cnn.data.TensorDataset)
    local ds = cnn.data.TensorDataset(cnn.zeros(4))
    assert.equal(4, #ds)
    assert.equal(2, #cnn.data.Subset(ds, { 1, 2 }))
    assert.equal("cnn.data.TensorDataset", getmetatable(ds).__name)
    assert.equal("cnn.data.Dataset", getmetatable(getmetatable(ds)).__index.__name)
    local bar = cnn.progress.bar(2, { out = { write = function() end, flush = function() end } })
    assert.equal("cnn.progress.Bar", getmetatable(bar).__name)
    H.errors(function() cnn.optim.Optimizer({}) end, "cnn.optim.Optimizer.new: argument 1 (class): expected an optimizer class")
  end)

  it("frees everything: no tensor bytes outlive a model and a step", function()
    H.no_leak(function()
      local m = mlp()
      m(cnn.randn(2, 3)):sum():backward()
      m = nil
    end)
  end)
end)

describe("forward hooks", function()
  it("a forward hook sees module, inputs and output, and may replace the output", function()
    local m = mlp()
    local x = cnn.randn(2, 3)
    local want = m(x)
    local seen = {}
    local h = m[1]:register_forward_hook(function(mod, inputs, out)
      seen = { mod = mod, n = inputs.n, x = inputs[1], out = out }
    end)
    H.close(m(x), want, 0)                       -- returning nothing keeps the output
    assert.are.equal(m[1], seen.mod)
    assert.are.equal(1, seen.n)
    H.close(seen.x, x, 0)
    H.close(seen.out, m[1](x), 0)
    h:remove()
    local h2 = m[2]:register_forward_hook(function(_, _, out) return out * 0 end)
    H.close(m(x), m[3](cnn.zeros(2, 4)), 0)        -- ReLU's output replaced by zeros
    h2:remove()
    h2:remove()                                  -- a second remove does nothing
    H.close(m(x), want, 0)
  end)

  it("a pre-hook may replace the inputs; hooks run in registration order", function()
    local m = mlp()
    local x = cnn.randn(2, 3)
    local order = {}
    local a = m:register_forward_pre_hook(function(_, inputs) order[#order + 1] = "pre1"; return inputs[1] * 2 end)
    local b = m:register_forward_pre_hook(function(_, inputs) order[#order + 1] = "pre2"; return inputs[1] + 1 end)
    local c = m:register_forward_hook(function() order[#order + 1] = "post" end)
    H.close(m(x), m:forward(x * 2 + 1), 0)       -- m:forward runs no hook
    assert.are.same({ "pre1", "pre2", "post" }, order)
    a:remove(); b:remove(); c:remove()
    H.close(m(x), m:forward(x), 0)
  end)

  it("several inputs and outputs pass through, a hook may remove itself", function()
    local Two = nn.Module:extend("Two")
    function Two:forward(a, b) return a + b, a - b end
    local m = Two()
    local h
    h = m:register_forward_hook(function(_, inputs, s, d)
      assert.are.equal(2, inputs.n)
      h:remove()
      return d, s
    end)
    local p = m:register_forward_pre_hook(function(_, inputs) return inputs[2], inputs[1] end)
    local s, d = m(cnn.tensor({1}), cnn.tensor({5}))
    H.close(s, {4}, 0); H.close(d, {6}, 0)        -- inputs swapped (5 + 1, 5 - 1), then outputs
    s, d = m(cnn.tensor({1}), cnn.tensor({5}))     -- the forward hook is gone
    H.close(s, {6}, 0); H.close(d, {4}, 0)
    p:remove()
  end)

  it("gradients flow through a replaced output", function()
    local lin = nn.Linear(2, 1)
    lin:register_forward_hook(function(_, _, out) return out * 3 end)
    local x = cnn.randn(4, 2)
    lin(x):sum():backward()
    H.close(lin.bias.grad, {12}, 1e-6)
  end)

  it("refuses a hook that is not a function", function()
    local m = nn.ReLU()
    H.errors(function() m:register_forward_hook(3) end,
      "cnn.nn.Module.register_forward_hook: argument 1 (hook): expected a function, got 3")
    H.errors(function() m:register_forward_pre_hook() end,
      "cnn.nn.Module.register_forward_pre_hook: argument 1 (hook): expected a function, got nil")
  end)
end)
