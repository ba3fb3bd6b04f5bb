local cnn = require "cnn"
local F = cnn.F
local H = require "helpers"

local f64 = { dtype = "float64", requires_grad = true }
local function t64(v) return cnn.tensor(v, "float64") end
local function x64(v) return cnn.tensor(v, f64) end

describe("batch_norm", function()
  it("normalises with batch statistics and updates the running ones (unbiased var)", function()
    local x = t64({{1, 2}, {3, 6}})
    local rm, rv = t64({0, 0}), t64({1, 1})
    local y = F.batch_norm(x, rm, rv, nil, nil, {training = true, eps = 0})
    H.close(y, {{-1, -1}, {1, 1}}, 1e-15)
    H.close(rm, {0.2, 0.4}, 1e-15)
    H.close(rv, {0.9 + 0.1 * 2, 0.9 + 0.1 * 8}, 1e-15)
    local y2 = F.batch_norm(x, rm, rv, t64({2, 1}), t64({0.5, 0}), {training = true, momentum = 0.5, eps = 0})
    H.close(y2, {{-1.5, -1}, {2.5, 1}}, 1e-15)
    H.close(rm, {1.1, 2.2}, 1e-15)
  end)

  it("uses the running statistics when not training", function()
    local x = t64({{1, 2}, {3, 6}})
    local y = F.batch_norm(x, t64({1, 2}), t64({4, 16}), t64({1, 2}), t64({0, 1}), {eps = 0})
    H.close(y, {{0, 1}, {1, 3}}, 1e-15)
    -- over (N,C,L) and (N,C,H,W) the channel is dimension 2
    local x4 = cnn.ones({2, 2, 3, 3}, "float64")
    H.close(F.batch_norm(x4, t64({1, 0}), t64({1, 1}), nil, nil, {eps = 0}):sum(3):sum(3), {{0, 9}, {0, 9}}, 0)
  end)

  it("gradchecks training and eval over 2-D, 3-D and 4-D input", function()
    cnn.manual_seed(2)
    for _, shape in ipairs { {4, 3}, {3, 2, 4}, {2, 3, 2, 2} } do
      local C = shape[2]
      local x = cnn.randn(shape, f64)
      local w, b = cnn.rand({C}, f64) + 0.5, cnn.randn({C}, f64)
      w = w:detach():requires_grad(true)
      for _, tr in ipairs { true, false } do
        local o = {training = tr, momentum = 0.3, eps = 1e-3}
        H.gradcheck(function(a, ww, bb)
          return F.batch_norm(a, cnn.zeros(C, "float64"), cnn.ones(C, "float64"), ww, bb, o)
        end, {x, w, b})
        H.gradcheck(function(a)
          return F.batch_norm(a, cnn.zeros(C, "float64"), cnn.ones(C, "float64"), nil, nil, o)
        end, {x})
      end
      H.gradcheck(function(a) return F.batch_norm(a, nil, nil, nil, nil, {training = true}) end, {x})
    end
  end)

  it("float32 agrees with float64", function()
    cnn.manual_seed(4)
    local x = cnn.randn({5, 3, 2}, "float64")
    local w, b = cnn.rand(3, "float64"), cnn.randn(3, "float64")
    local rm, rv = cnn.zeros(3, "float64"), cnn.ones(3, "float64")
    local rm32, rv32 = rm:float(), rv:float()
    local y = F.batch_norm(x, rm, rv, w, b, {training = true})
    local y32 = F.batch_norm(x:float(), rm32, rv32, w:float(), b:float(), {training = true})
    assert.are.equal("float32", y32:dtype())
    H.close(y32, y, 1e-5)
    H.close(rm32, rm, 1e-6)
    H.close(rv32, rv, 1e-6)
  end)

  it("raises on bad arguments", function()
    local x = cnn.randn(4, 3)
    H.errors(function() F.batch_norm(x, nil, nil) end,
      "cnn.batch_norm: argument 2 (running_mean): expected a tensor when not training, got nil")
    H.errors(function() F.batch_norm(x, cnn.zeros(3), nil) end,
      "cnn.batch_norm: argument 3 (running_var): expected a tensor when not training, got nil")
    H.errors(function() F.batch_norm(x, cnn.zeros(2), cnn.ones(3)) end,
      "cnn.batch_norm: argument 2 (running_mean): expected shape [3] (the channels of input float32 [4,3]), got float32 [2]")
    H.errors(function() F.batch_norm(x, nil, nil, cnn.ones(3), cnn.ones(3, 1), {training = true}) end,
      "cnn.batch_norm: argument 5 (bias): expected shape [3] (the channels of input float32 [4,3]), got float32 [3,1]")
    H.errors(function() F.batch_norm(cnn.randn(3), nil, nil, nil, nil, {training = true}) end,
      "cnn.batch_norm: argument 1 (input): expected (N,C), (N,C,L) or (N,C,H,W), got float32 [3]")
    H.errors(function() F.batch_norm(cnn.randn(1, 3), nil, nil, nil, nil, {training = true}) end,
      "cnn.batch_norm: expected more than 1 value per channel when training, got input float32 [1,3]")
    H.errors(function() F.batch_norm(x, nil, nil, nil, nil, {train = true}) end,
      "cnn.batch_norm: argument 6 (options): unknown option 'train' (expected training, momentum, eps)")
    H.errors(function() F.batch_norm(x, nil, nil, nil, nil, {eps = "small"}) end,
      "cnn.batch_norm: argument 6 (options): eps must be a number, got string")
    H.errors(function() F.batch_norm(x, 1) end, "cnn.batch_norm: argument 2 (running_mean): expected a tensor, got number")
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local x = cnn.randn({4, 3, 2}, {requires_grad = true})
      local w, b = cnn.ones({3}, {requires_grad = true}), cnn.zeros({3}, {requires_grad = true})
      local rm, rv = cnn.zeros(3), cnn.ones(3)
      local l = F.batch_norm(x, rm, rv, w, b, {training = true}):sum() + F.batch_norm(x, rm, rv, w, b):sum()
      l:backward()
      pcall(F.batch_norm, x, nil, nil)
      x, w, b, rm, rv, l = nil, nil, nil, nil, nil, nil
    end)
  end)
end)

describe("dropout", function()
  it("is the identity when not training or p = 0", function()
    local x = cnn.randn(3, 4)
    H.close(F.dropout(x, 0.5, false), x, 0)
    H.close(F.dropout(x, 0), x, 0)
  end)

  it("zeroes about p of the elements and scales the rest by 1/(1-p), reproducibly", function()
    local x = cnn.ones(10000, "float64")
    cnn.manual_seed(9)
    local y = F.dropout(x, 0.3)
    cnn.manual_seed(9)
    H.close(F.dropout(x, 0.3, true), y, 0)
    local kept = y:gt(0):sum():item()
    assert.is_true(math.abs(kept / 10000 - 0.7) < 0.02, "kept fraction " .. kept / 10000)
    H.close(y:max(), 1 / 0.7 * cnn.ones({}, "float64"), 1e-15)
    assert.are.equal(kept, y:eq(1 / 0.7):sum():item())
    H.close(F.dropout(x, 1), cnn.zeros(10000, "float64"), 0)
  end)

  it("passes the gradient through the same mask", function()
    local x = x64({1, 2, 3, 4, 5, 6, 7, 8})
    cnn.manual_seed(1)
    local y = F.dropout(x, 0.5)
    y:sum():backward()
    H.close(x.grad, y:detach() / x:detach(), 1e-15)
    H.gradcheck(function(a) cnn.manual_seed(1); return F.dropout(a, 0.5) end, {x})
  end)

  it("float32 uses the same draws as float64", function()
    cnn.manual_seed(8)
    local y64 = F.dropout(cnn.ones(100, "float64"), 0.4)
    cnn.manual_seed(8)
    local y32 = F.dropout(cnn.ones(100), 0.4)
    H.close(y32, y64, 1e-6)
  end)

  it("raises on bad arguments", function()
    H.errors(function() F.dropout(cnn.ones(2), 1.5) end, "cnn.dropout: argument 2 (p): expected a probability in [0, 1], got 1.5")
    H.errors(function() F.dropout(cnn.ones(2), "p") end, "cnn.dropout: argument 2 (p): expected a number, got string")
    H.errors(function() F.dropout(nil) end, "cnn.dropout: argument 1 (input): expected a tensor, got nil")
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local x = cnn.randn({50}, {requires_grad = true})
      F.dropout(x, 0.2):sum():backward()
      x = nil
    end)
  end)
end)
