local cnn = require "cnn"
local F = cnn.F
local H = require "helpers"

local f64 = { dtype = "float64", requires_grad = true }

describe("linear", function()
  it("computes x @ w^T + b", function()
    local x = cnn.tensor({{1, 2}, {3, 4}}, "float64")
    local w = cnn.tensor({{1, 0}, {0, 1}, {1, 1}}, "float64")
    H.close(F.linear(x, w, cnn.tensor({0, 10, 100}, "float64")), {{1, 12, 103}, {3, 14, 107}}, 0)
    H.close(F.linear(x, w), {{1, 2, 3}, {3, 4, 7}}, 0)
    H.close(F.linear(cnn.tensor({1, 2}, "float64"), w), {1, 2, 3}, 0)
    assert.are.same({2, 5, 3}, F.linear(cnn.ones(2, 5, 2), cnn.ones(3, 2)):size())
  end)

  it("gradchecks input, weight and bias, with and without bias, over batches and strides", function()
    cnn.manual_seed(3)
    local x, w, b = cnn.randn({4, 3}, f64), cnn.randn({2, 3}, f64), cnn.randn({2}, f64)
    H.gradcheck(function(a, ww, bb) return F.linear(a, ww, bb) end, {x, w, b})
    H.gradcheck(function(a, ww) return F.linear(a, ww) end, {x, w})
    H.gradcheck(function(a, ww, bb) return F.linear(a, ww, bb) end, {cnn.randn({2, 2, 3}, f64), w, b})
    H.gradcheck(function(a, ww) return F.linear(a:t(), ww:t()) end, {cnn.randn({3, 4}, f64), cnn.randn({3, 2}, f64)})
  end)

  it("float32 agrees with float64", function()
    local x, w, b = cnn.randn({5, 4}, "float64"), cnn.randn({3, 4}, "float64"), cnn.randn({3}, "float64")
    local y32 = F.linear(x:float(), w:float(), b:float())
    assert.are.equal("float32", y32:dtype())
    H.close(y32, F.linear(x, w, b), 1e-5)
  end)

  it("raises on bad arguments", function()
    local x, w = cnn.ones(4, 3), cnn.ones(2, 3)
    H.errors(function() F.linear(x) end, "cnn.linear: argument 2 (weight): expected a tensor, got no value")
    H.errors(function() F.linear(x, cnn.ones(3)) end, "cnn.linear: argument 2 (weight): expected a 2-D tensor (out,in), got float32 [3]")
    H.errors(function() F.linear(cnn.ones(4, 5), w) end,
      "cnn.linear: argument 1 (input): expected a last dimension of 3 (the weight's in-features, weight [2,3]), got float32 [4,5]")
    H.errors(function() F.linear(x, w, cnn.ones(3)) end, "cnn.linear: argument 3 (bias): expected shape [2], got float32 [3]")
    H.errors(function() F.linear(x, w:double()) end,
      "cnn.linear: expected the input, weight and bias in one dtype, got float32, float64")
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local w, b = cnn.randn({2, 3}, {requires_grad = true}), cnn.zeros({2}, {requires_grad = true})
      F.linear(cnn.randn(4, 3), w, b):sum():backward()
      pcall(F.linear, cnn.ones(4, 5), w)
      w, b = nil, nil
    end)
  end)
end)

describe("flatten", function()
  it("merges dims start..end (1-based, default all)", function()
    local x = cnn.randn(2, 3, 4)
    assert.are.same({24}, F.flatten(x):size())
    assert.are.same({2, 12}, F.flatten(x, 2):size())
    assert.are.same({6, 4}, F.flatten(x, 1, 2):size())
    assert.are.same({2, 12}, F.flatten(x, 2, -1):size())
  end)

  it("gradchecks through a strided input", function()
    H.gradcheck(function(a) return F.flatten(a:transpose(1, 3), 2) end, {cnn.randn({2, 3, 2}, f64)})
  end)
end)
