local cnn = require "cnn"
local H = require "helpers"

describe("autograd", function()
  it("differentiates x*x summed", function()
    local x = cnn.tensor({1, 2, 3}, {requires_grad = true})
    local y = (x * x):sum()
    y:backward()
    H.close(x.grad, {2, 4, 6}, 0)
  end)

  it("accumulates across backward calls until zeroed", function()
    local x = cnn.tensor({1, 2}, {dtype = "float64", requires_grad = true})
    local _ = (x * 3):sum():backward()
    local _ = (x * 3):sum():backward()
    H.close(x.grad, {6, 6}, 0)
    x:zero_grad()
    H.close(x.grad, {0, 0}, 0)
  end)

  it("refuses a second backward unless the graph was retained", function()
    local x = cnn.tensor({1, 2}, {dtype = "float64", requires_grad = true})
    local y = (x * x):sum()
    y:backward({retain_graph = true})
    y:backward()
    H.close(x.grad, {4, 8}, 0)
    H.errors(function() y:backward() end, "cnn.backward: trying to backward through the graph a second time")
  end)

  it("reduces broadcast gradients to the input shape", function()
    local a = cnn.randn({3, 1}, {dtype = "float64", requires_grad = true})
    local b = cnn.randn({1, 4}, {dtype = "float64", requires_grad = true})
    H.gradcheck(function(x, y) return x * y + x / (y * y + 1) end, {a, b})
  end)

  it("gradchecks matmul in its 1-D, 2-D and batched forms", function()
    local f64 = {dtype = "float64", requires_grad = true}
    H.gradcheck(function(a, b) return a:matmul(b) end, {cnn.randn({3, 4}, f64), cnn.randn({4, 2}, f64)})
    H.gradcheck(function(a, b) return a:matmul(b) end, {cnn.randn({4}, f64), cnn.randn({4, 2}, f64)})
    H.gradcheck(function(a, b) return a:matmul(b) end, {cnn.randn({2, 3, 4}, f64), cnn.randn({4}, f64)})
    H.gradcheck(function(a, b) return a:matmul(b) end, {cnn.randn({2, 3, 4}, f64), cnn.randn({4, 5}, f64)})
    H.gradcheck(function(a, b) return a:matmul(b) end, {cnn.randn({2, 1, 3, 4}, f64), cnn.randn({3, 4, 2}, f64)})
  end)

  it("cnn.grad leaves .grad alone", function()
    local x = cnn.tensor({1, 2, 3}, {dtype = "float64", requires_grad = true})
    local g = cnn.grad((x:exp()):sum(), {x})
    H.close(g[1], x:detach():exp(), 1e-12)
    assert.is_nil(x.grad)
  end)

  it("frees the graph: no tensor bytes outlive a training-like step", function()
    H.no_leak(function()
      local w = cnn.randn({5, 3}, {requires_grad = true})
      for _ = 1, 3 do
        local loss = (cnn.randn(4, 5):matmul(w)):relu():mean()
        loss:backward()
      end
      w = nil
    end)
  end)
end)

describe("autograd through max over a dimension", function()
  it("keeps the saved indices intact when returning 1-based ones", function()
    local x = cnn.tensor({{1, 5, 2}, {7, 0, 3}}, {dtype = "float64", requires_grad = true})
    local v, i = x:max(2, true)
    H.close(i, {{2}, {1}}, 0)
    v:sum():backward()
    H.close(x.grad, {{0, 1, 0}, {1, 0, 0}}, 0)
  end)
end)
