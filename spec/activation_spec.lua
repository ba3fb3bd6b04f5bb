local cnn = require "cnn"
local F = cnn.F
local nn = cnn.nn
local H = require "helpers"

local f64 = { dtype = "float64", requires_grad = true }
local function x64(t) return cnn.tensor(t, f64) end
-- values away from the kinks (0, hardtanh's bounds, softplus's threshold)
local function sample(...) cnn.manual_seed(7); return cnn.randn({...}, f64) end

describe("activations", function()
  it("compute hand-checked values", function()
    local x = cnn.tensor({-2, -0.5, 0.5, 3}, "float64")
    H.close(F.leaky_relu(x), {-0.02, -0.005, 0.5, 3}, 1e-15)
    H.close(F.leaky_relu(x, 0.5), {-1, -0.25, 0.5, 3}, 1e-15)
    H.close(F.elu(x, 2), {2 * (math.exp(-2) - 1), 2 * (math.exp(-0.5) - 1), 0.5, 3}, 1e-15)
    local a, s = 1.6732632423543772, 1.0507009873554805
    H.close(F.selu(x), {s * a * (math.exp(-2) - 1), s * a * (math.exp(-0.5) - 1), s * 0.5, s * 3}, 1e-15)
    H.close(F.hardtanh(x), {-1, -0.5, 0.5, 1}, 0)
    H.close(F.hardtanh(x, -0.25, 2), {-0.25, -0.25, 0.5, 2}, 0)
    H.close(F.softsign(x), {-2 / 3, -1 / 3, 1 / 3, 0.75}, 1e-15)
    H.close(F.softplus(x), {math.log(1 + math.exp(-2)), math.log(1 + math.exp(-0.5)), math.log(1 + math.exp(0.5)), math.log(1 + math.exp(3))}, 1e-15)
    H.close(F.softplus(x, 2, 0.9), {math.log(1 + math.exp(-4)) / 2, math.log(1 + math.exp(-1)) / 2, 0.5, 3}, 1e-15)
    H.close(F.rrelu(x, 0.1, 0.3), {-0.4, -0.1, 0.5, 3}, 1e-15)
    H.close(F.prelu(x, cnn.tensor({0.25}, "float64")), {-0.5, -0.125, 0.5, 3}, 0)
    H.close(F.relu(x), {0, 0, 0.5, 3}, 0)
  end)

  it("gelu, silu and mish compute independently computed values", function()
    local x = cnn.tensor({-2, -0.5, 0.5, 3}, "float64")
    -- x Phi(x) and its tanh form, from Python's math.erf and math.tanh
    H.close(F.gelu(x), {-0.04550026389635842, -0.15426876936299344, 0.34573123063700656, 2.99595030590511}, 1e-15)
    H.close(F.gelu(x, "none"), F.gelu(x), 0)
    H.close(F.gelu(x, "tanh"), {-0.04540230591222494, -0.15428599017485606, 0.34571400982514394, 2.996362607918227}, 1e-15)
    local silu, mish = {}, {}
    for i, v in ipairs({-2, -0.5, 0.5, 3}) do
      silu[i] = v / (1 + math.exp(-v))
      local e = math.exp(2 * math.log(1 + math.exp(v)))   -- tanh(s) = (e^2s - 1) / (e^2s + 1)
      mish[i] = v * (e - 1) / (e + 1)
    end
    H.close(F.silu(x), silu, 1e-15)
    H.close(F.mish(x), mish, 1e-15)
    H.close(x:gelu("tanh"), F.gelu(x, "tanh"), 0)
    H.close(x:silu(), F.silu(x), 0)
  end)

  it("gelu, silu and mish stay finite at large inputs", function()
    for _, dt in ipairs({"float32", "float64"}) do
      local x = cnn.tensor({-1000, -100, 100, 1000}, {dtype = dt, requires_grad = true})
      H.close(F.silu(x), {0, -100 * math.exp(-100) / (1 + math.exp(-100)), 100, 1000}, 1e-30)
      H.close(F.mish(x), {0, F.mish(cnn.tensor({-100}, dt))[1], 100, 1000}, 0)
      H.close(F.gelu(x), {0, 0, 100, 1000}, 0)
      H.close(F.gelu(x, "tanh"), {0, 0, 100, 1000}, 0)
      for _, f in ipairs({F.silu, F.mish, F.gelu, function(t) return F.gelu(t, "tanh") end}) do
        x.grad = nil
        f(x):sum():backward()
        H.close(x.grad, {0, x.grad[2], 1, 1}, 1e-30)
        assert.is_true(math.abs(x.grad[2]) < 1e-30)
      end
    end
  end)

  it("nn.GELU, nn.SiLU and nn.Mish call F", function()
    local x = cnn.randn(3, 4)
    H.close(nn.GELU()(x), F.gelu(x), 0)
    H.close(nn.GELU("tanh")(x), F.gelu(x, "tanh"), 0)
    H.close(nn.SiLU()(x), F.silu(x), 0)
    H.close(nn.Mish()(x), F.mish(x), 0)
    assert.are.equal('nn.GELU(approximate = "tanh")', tostring(nn.GELU("tanh")))
    assert.are.equal("nn.SiLU", tostring(nn.SiLU()))
    H.errors(function() nn.GELU("erf") end, 'cnn.nn.GELU: argument 1 (approximate): expected "none" or "tanh", got "erf"')
    H.errors(function() nn.GELU(1) end, "cnn.nn.GELU: argument 1 (approximate): expected a string, got 1")
  end)

  it("softmax and log_softmax are stable for large inputs", function()
    local x = cnn.tensor({{1000, 1000}, {-1000, 0}}, "float64")
    H.close(F.softmax(x, 2), {{0.5, 0.5}, {0, 1}}, 1e-15)
    H.close(F.log_softmax(x, 2), {{-math.log(2), -math.log(2)}, {-1000, 0}}, 1e-12)
    H.close(F.softmax(x, 1), {{1, 1}, {0, 0}}, 1e-15)
    H.close(x:softmax(-1), F.softmax(x, 2), 0)
  end)

  it("prelu takes one weight per channel (dimension 2)", function()
    local x = cnn.tensor({{{-1, 2}, {-1, 2}}}, "float64")   -- [1,2,2]
    H.close(F.prelu(x, cnn.tensor({0.1, 0.2}, "float64")), {{{-0.1, 2}, {-0.2, 2}}}, 1e-15)
  end)

  it("rrelu in training draws slopes in [lower, upper] from the seeded generator", function()
    local x = -cnn.ones(1000, "float64")
    cnn.manual_seed(3)
    local y1 = F.rrelu(x, 0.2, 0.4, true)
    cnn.manual_seed(3)
    local y2 = F.rrelu(x, 0.2, 0.4, true)
    H.close(y1, y2, 0)
    assert.is_true((-y1):min():item() >= 0.2 and (-y1):max():item() <= 0.4)
    assert.is_true(math.abs((-y1):mean():item() - 0.3) < 0.01)
    H.close(F.rrelu(cnn.tensor({2, 0.5}, "float64"), 0.2, 0.4, true), {2, 0.5}, 0)
  end)

  it("gradcheck every activation and option in float64", function()
    local x = sample(3, 4)
    H.gradcheck(function(t) return F.leaky_relu(t) end, {x})
    H.gradcheck(function(t) return F.leaky_relu(t, 0.3) end, {x})
    H.gradcheck(function(t) return F.elu(t) end, {x})
    H.gradcheck(function(t) return F.elu(t, 0.5) end, {x})
    H.gradcheck(function(t) return F.selu(t) end, {x})
    H.gradcheck(function(t) return F.hardtanh(t) end, {x})
    H.gradcheck(function(t) return F.hardtanh(t, -0.4, 0.9) end, {x})
    H.gradcheck(function(t) return F.softsign(t) end, {x})
    H.gradcheck(function(t) return F.softplus(t) end, {x})
    H.gradcheck(function(t) return F.softplus(t, 3, 2) end, {x})
    H.gradcheck(function(t) return F.rrelu(t) end, {x})
    H.gradcheck(function(t) return F.gelu(t) end, {x})
    H.gradcheck(function(t) return F.gelu(t, "tanh") end, {x})
    H.gradcheck(function(t) return F.silu(t) end, {x})
    H.gradcheck(function(t) return F.mish(t) end, {x})
    H.gradcheck(function(t) return F.mish(t * 4) end, {x})   -- wider range: the tails
    H.gradcheck(function(t) return F.softmax(t, 1) end, {x})
    H.gradcheck(function(t) return F.softmax(t, 2) end, {x})
    H.gradcheck(function(t) return F.log_softmax(t, 1) end, {x})
    H.gradcheck(function(t) return F.log_softmax(t, -1) end, {x})
    H.gradcheck(function(t) return F.log_softmax(t:t(), 2) end, {x})   -- strided input
    local x4 = sample(2, 3, 2, 2)
    H.gradcheck(function(t, w) return F.prelu(t, w) end, {x4, x64({0.1, 0.2, 0.3})})
    H.gradcheck(function(t, w) return F.prelu(t, w) end, {x4, x64({0.25})})
  end)

  it("rrelu in training passes the gradient through its drawn slopes", function()
    local x = x64({-1, -2, 3})
    local y = F.rrelu(x, 0.1, 0.5, true)
    y:sum():backward()
    H.close(x.grad, y:detach() / x:detach(), 1e-15)
  end)

  it("float32 agrees with float64", function()
    local x = sample(4, 5):detach()
    local x32 = x:float()
    local fs = {
      function(t) return F.leaky_relu(t, 0.2) end, function(t) return F.elu(t) end, F.selu,
      function(t) return F.hardtanh(t) end, F.softsign, function(t) return F.softplus(t) end,
      function(t) return F.gelu(t) end, function(t) return F.gelu(t, "tanh") end, F.silu, F.mish,
      function(t) return F.softmax(t, 2) end, function(t) return F.log_softmax(t, 1) end,
      function(t) return F.prelu(t, cnn.tensor({0.1, 0.2, 0.3, 0.4, 0.5}, t:dtype())) end,
    }
    for _, f in ipairs(fs) do
      local y = f(x32)
      assert.are.equal("float32", y:dtype())
      H.close(y, f(x), 1e-6)
    end
  end)

  it("raises on bad arguments", function()
    local x = cnn.randn(2, 3)
    H.errors(function() F.leaky_relu("x") end, "cnn.leaky_relu: argument 1 (input): expected a tensor, got string")
    H.errors(function() F.leaky_relu(x, "a") end, "cnn.leaky_relu: argument 2 (negative_slope): expected a number, got string")
    H.errors(function() F.elu(x, {}) end, "cnn.elu: argument 2 (alpha): expected a number, got table")
    H.errors(function() F.hardtanh(x, 1, -1) end, "cnn.hardtanh: argument 3 (max_val): expected min_val <= max_val, got 1 and -1")
    H.errors(function() F.softplus(x, 0) end, "cnn.softplus: argument 2 (beta): expected a non-zero beta")
    H.errors(function() F.gelu(x, "erf") end, 'cnn.gelu: argument 2 (approximate): expected "none" or "tanh", got erf')
    H.errors(function() F.gelu(x, true) end, 'cnn.gelu: argument 2 (approximate): expected "none" or "tanh", got boolean')
    H.errors(function() F.silu({}) end, "cnn.silu: argument 1 (input): expected a tensor, got table")
    H.errors(function() F.rrelu(x, 0.5, 0.1) end, "cnn.rrelu: argument 3 (upper): expected lower <= upper, got 0.5 and 0.1")
    H.errors(function() F.prelu(x, cnn.ones(2)) end,
      "cnn.prelu: argument 2 (weight): expected 1 value or one per channel ([3]) for input float32 [2,3], got float32 [2]")
    H.errors(function() F.prelu(x) end, "cnn.prelu: argument 2 (weight): expected a tensor, got no value")
    H.errors(function() F.softmax(x) end, "cnn.softmax: argument 2 (dim): expected an integer, got no value")
    H.errors(function() F.log_softmax(x, 3) end,
      "cnn.log_softmax: argument 2 (dim): dimension 3 is out of range (expected 1..2 or -2..-1)")
    H.errors(function() x:softmax(0) end, "cnn.softmax: argument 1 (dim): dimension 0 is out of range")
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local x = cnn.randn({4, 3}, {requires_grad = true})
      local w = cnn.tensor({0.2, 0.1, 0.3}, {requires_grad = true})
      local y = F.leaky_relu(x) + F.elu(x) + F.selu(x) + F.hardtanh(x) + F.softsign(x) + F.softplus(x)
        + F.gelu(x) + F.gelu(x, "tanh") + F.silu(x) + F.mish(x)
        + F.rrelu(x, 0.1, 0.3, true) + F.prelu(x, w) + F.softmax(x, 2) + F.log_softmax(x, 1)
      y:sum():backward()
      pcall(F.prelu, x, cnn.ones(2))
      x, w, y = nil, nil, nil
    end)
  end)
end)
