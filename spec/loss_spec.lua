local cnn = require "cnn"
local F = cnn.F
local H = require "helpers"

local f64 = { dtype = "float64", requires_grad = true }
local function t64(v) return cnn.tensor(v, "float64") end
local function x64(v) return cnn.tensor(v, f64) end
local function randn(...) return cnn.randn({...}, f64) end
local NaN = 0 / 0

describe("losses", function()
  it("compute hand-checked values with each reduction", function()
    local x, y = t64({1, 2}), t64({0, 0})
    H.close(F.mse_loss(x, y), 2.5 * cnn.ones({}, "float64"), 0)
    H.close(F.mse_loss(x, y, {reduction = "sum"}), 5 * cnn.ones({}, "float64"), 0)
    H.close(F.mse_loss(x, y, {reduction = "none"}), {1, 4}, 0)
    H.close(F.l1_loss(t64({1, -2}), y), 1.5 * cnn.ones({}, "float64"), 0)
    local d = t64({0.5, -3})
    H.close(F.huber_loss(d, y, {reduction = "none"}), {0.125, 2.5}, 0)
    H.close(F.huber_loss(d, y, 2, {reduction = "none"}), {0.125, 4}, 0)
    H.close(F.huber_loss(d, y, {delta = 2, reduction = "none"}), {0.125, 4}, 0)
    H.close(F.smooth_l1_loss(d, y, {reduction = "none"}), {0.125, 2.5}, 0)
    H.close(F.smooth_l1_loss(d, y, 2, {reduction = "none"}), {0.0625, 2}, 0)
    H.close(F.smooth_l1_loss(d, y, 0, {reduction = "none"}), {0.5, 3}, 0)   -- beta 0 is l1
    H.close(F.hinge_embedding_loss(t64({0.3, 0.3, 2}), t64({1, -1, -1}), {reduction = "none"}), {0.3, 0.7, 0}, 1e-15)
    H.close(F.hinge_embedding_loss(t64({0.3}), t64({-1}), 0.5), 0.2 * cnn.ones({}, "float64"), 1e-15)
  end)

  it("binary cross-entropy on probabilities and on logits", function()
    H.close(F.binary_cross_entropy(t64({0.5, 0.25}), t64({1, 0}), {reduction = "none"}), {math.log(2), -math.log(0.75)}, 1e-15)
    H.close(F.binary_cross_entropy(t64({0, 1}), t64({1, 0}), {reduction = "none"}), {100, 100}, 0)   -- logs clamped at -100
    H.close(F.binary_cross_entropy_with_logits(t64({0, 0}), t64({1, 0})), math.log(2) * cnn.ones({}, "float64"), 1e-15)
    -- stable at large logits: no overflow, no log(0)
    H.close(F.binary_cross_entropy_with_logits(t64({100, -100, 800}), t64({0, 1, 1}), {reduction = "none"}), {100, 100, 0}, 1e-12)
    -- pos_weight scales the positive term
    H.close(F.binary_cross_entropy_with_logits(t64({0}), t64({1}), {pos_weight = t64({3})}), 3 * math.log(2) * cnn.ones({}, "float64"), 1e-15)
  end)

  it("a NaN label under weight 0 gives 0 loss and 0 gradient (missing labels)", function()
    local z = x64({{0.5, -1, 2}, {1, 0.2, -0.3}})
    local y = t64({{1, NaN, 0}, {NaN, 1, 0}})
    local w = t64({{1, 0, 1}, {0, 1, 1}})
    local l = F.binary_cross_entropy_with_logits(z, y, {weight = w, reduction = "sum"})
    local mask = t64({{1, 0, 1}, {0, 1, 1}})
    local yf = t64({{1, 0, 0}, {0, 1, 0}})
    local ref = F.binary_cross_entropy_with_logits(z:detach(), yf, {weight = mask, reduction = "sum"})
    H.close(l, ref, 1e-15)
    l:backward()
    assert.is_true(z.grad[1][2] == 0 and z.grad[2][1] == 0)
    H.close(z.grad, (F.sigmoid(z:detach()) - yf) * mask, 1e-15)
    -- the mean divides by every element, as PyTorch's weighted mean does
    H.close(F.binary_cross_entropy_with_logits(z, y, {weight = w}), l / 6, 1e-15)
    local p = x64({0.3, 0.6})
    local b = F.binary_cross_entropy(p, t64({NaN, 1}), {weight = t64({0, 1}), reduction = "sum"})
    H.close(b, -math.log(0.6) * cnn.ones({}, "float64"), 1e-15)
    b:backward()
    assert.are.equal(0, p.grad[1])
  end)

  it("cross_entropy and nll_loss over 1-based classes", function()
    local z = t64({{0, 0, 0, 0}, {1, 2, 3, 4}})
    local t = t64({2, 4})
    local lse = math.log(math.exp(1) + math.exp(2) + math.exp(3) + math.exp(4))
    H.close(F.cross_entropy(z, t, {reduction = "none"}), {math.log(4), lse - 4}, 1e-14)
    H.close(F.cross_entropy(z, t), (math.log(4) + lse - 4) / 2 * cnn.ones({}, "float64"), 1e-14)
    -- weighted mean divides by the weights of the targets
    local w = t64({1, 3, 1, 0.5})
    H.close(F.cross_entropy(z, t, {weight = w}), (3 * math.log(4) + 0.5 * (lse - 4)) / 3.5 * cnn.ones({}, "float64"), 1e-14)
    -- ignored targets count for nothing
    H.close(F.cross_entropy(z, t64({-100, 4}), {ignore_index = -100}), (lse - 4) * cnn.ones({}, "float64"), 1e-14)
    H.close(F.cross_entropy(z, t64({-100, 4}), {ignore_index = -100, reduction = "none"}), {0, lse - 4}, 1e-14)
    H.close(F.nll_loss(F.log_softmax(z, 2), t), F.cross_entropy(z, t), 1e-15)
    H.close(F.nll_loss(t64({{-1, -2}, {-3, -4}}), t64({2, 1}), {reduction = "sum"}), 5 * cnn.ones({}, "float64"), 0)
    -- (C) logits with a 0-d target
    H.close(F.cross_entropy(t64({1, 2, 3, 4}), t64(4)), (lse - 4) * cnn.ones({}, "float64"), 1e-14)
    assert.are.same({}, F.cross_entropy(t64({1, 2, 3, 4}), t64(4), {reduction = "none"}):size())
    -- (N,C,d) logits with (N,d) targets
    assert.are.same({2, 3}, F.cross_entropy(cnn.randn(2, 4, 3), cnn.ones(2, 3), {reduction = "none"}):size())
  end)

  it("multi_margin_loss is the multi-class hinge", function()
    local x = t64({{0.1, 0.2, 0.4, 0.8}})
    H.close(F.multi_margin_loss(x, t64({4})), 0.325 * cnn.ones({}, "float64"), 1e-15)
    H.close(F.multi_margin_loss(x, t64({4}), {p = 2}), (0.09 + 0.16 + 0.36) / 4 * cnn.ones({}, "float64"), 1e-15)
    H.close(F.multi_margin_loss(x, t64({4}), {margin = 0.5}), 0.1 / 4 * cnn.ones({}, "float64"), 1e-15)
  end)

  it("gradcheck every loss and option in float64", function()
    cnn.manual_seed(11)
    local x, y = randn(3, 4), randn(3, 4)
    for _, red in ipairs { "mean", "sum", "none" } do
      local o = {reduction = red}
      H.gradcheck(function(a, b) return F.mse_loss(a, b, o) end, {x, y})
      H.gradcheck(function(a, b) return F.l1_loss(a, b, o) end, {x, y})
      H.gradcheck(function(a, b) return F.huber_loss(a, b, 0.7, o) end, {x, y})
      H.gradcheck(function(a, b) return F.smooth_l1_loss(a, b, 0.6, o) end, {x, y})
      local p = (cnn.rand({3, 4}, "float64") * 0.8 + 0.1):requires_grad(true)
      local q = cnn.rand({3, 4}, "float64"):requires_grad(true)
      H.gradcheck(function(a, b) return F.binary_cross_entropy(a, b, o) end, {p, q})
      H.gradcheck(function(a, b) return F.binary_cross_entropy(a, b, {reduction = red, weight = t64({1, 0, 2, 0.5})}) end, {p, q})
      H.gradcheck(function(a, b) return F.binary_cross_entropy_with_logits(a, b, o) end, {x, q})
      H.gradcheck(function(a, b)
        return F.binary_cross_entropy_with_logits(a, b, {reduction = red, weight = t64({{1}, {0}, {2}}), pos_weight = t64({1, 2, 3, 4})})
      end, {x, q})
      H.gradcheck(function(a) return F.hinge_embedding_loss(a, t64({{1, -1, 1, -1}}):expand(3, 4), 0.3, o) end, {x})
      local t = t64({2, 4, 1})
      H.gradcheck(function(a) return F.cross_entropy(a, t, o) end, {x})
      H.gradcheck(function(a) return F.cross_entropy(a, t64({2, 9, 1}), {reduction = red, weight = t64({1, 2, 3, 4}), ignore_index = 9}) end, {x})
      H.gradcheck(function(a) return F.nll_loss(a, t, {reduction = red, weight = t64({1, 2, 3, 4})}) end, {x})
      H.gradcheck(function(a) return F.multi_margin_loss(a, t, o) end, {x})
      H.gradcheck(function(a) return F.multi_margin_loss(a, t, {reduction = red, p = 2, margin = 0.5, weight = t64({1, 2, 3, 4})}) end, {x})
    end
    H.gradcheck(function(a) return F.cross_entropy(a, t64({{1, 3}, {2, 2}})) end, {randn(2, 3, 2)})
    H.gradcheck(function(a) return F.cross_entropy(a:t(), t64({1, 2, 2})) end, {randn(2, 3)})
  end)

  it("float32 agrees with float64", function()
    cnn.manual_seed(5)
    local x, y = cnn.randn({4, 3}, "float64"), cnn.rand({4, 3}, "float64")
    local t = t64({1, 3, 2, 3})
    local fs = {
      function(a, b) return F.mse_loss(a, b) end, function(a, b) return F.l1_loss(a, b) end,
      function(a, b) return F.huber_loss(a, b) end, function(a, b) return F.smooth_l1_loss(a, b) end,
      function(a, b) return F.binary_cross_entropy(F.sigmoid(a), b) end,
      function(a, b) return F.binary_cross_entropy_with_logits(a, b) end,
      function(a) return F.cross_entropy(a, t:to(a:dtype())) end,
      function(a) return F.multi_margin_loss(a, t) end,
    }
    for _, f in ipairs(fs) do
      local r32 = f(x:float(), y:float())
      assert.are.equal("float32", r32:dtype())
      H.close(r32, f(x, y), 1e-6)
    end
  end)

  it("raises on bad arguments", function()
    local x, t = cnn.randn(2, 3), cnn.tensor({1, 3})
    H.errors(function() F.mse_loss(x) end, "cnn.mse_loss: argument 2 (target): expected a tensor, got no value")
    H.errors(function() F.mse_loss(x, cnn.randn(3, 2)) end, "cnn.mse_loss: argument 2 (target): expected the input's shape [2,3], got [3,2]")
    H.errors(function() F.mse_loss(x, x, {reduction = "avg"}) end,
      'cnn.mse_loss: argument 3 (options): reduction must be "mean", "sum" or "none", got "avg"')
    H.errors(function() F.mse_loss(x, x, "sum") end,
      "cnn.mse_loss: argument 3 (options): expected an options table, got string")
    H.errors(function() F.l1_loss(x, x, {weight = x}) end, "cnn.l1_loss: argument 3 (options): unknown option 'weight' (expected reduction)")
    H.errors(function() F.huber_loss(x, x, 0) end, "cnn.huber_loss: argument 3 (delta): expected delta > 0, got 0")
    H.errors(function() F.smooth_l1_loss(x, x, {beta = -1}) end, "cnn.smooth_l1_loss: argument 3 (beta): expected beta >= 0, got -1")
    H.errors(function() F.binary_cross_entropy(x, x, {weight = 1}) end,
      "cnn.binary_cross_entropy: argument 3 (options): weight must be a tensor, got number")
    H.errors(function() F.binary_cross_entropy_with_logits(x, x, {pos_weight = cnn.ones(2)}) end,
      "cnn.binary_cross_entropy_with_logits: the pos_weight of shape [2] does not broadcast to the input's shape [2,3]")
    H.errors(function() F.cross_entropy(x, cnn.tensor({1, 4})) end,
      "cnn.cross_entropy: argument 2 (target): expected class indices 1..3, got 4 at position 2")
    H.errors(function() F.cross_entropy(x, cnn.tensor({1.5, 2})) end,
      "cnn.cross_entropy: argument 2 (target): expected class indices 1..3, got 1.5 at position 1")
    H.errors(function() F.cross_entropy(x, cnn.tensor({0, 2})) end,
      "cnn.cross_entropy: argument 2 (target): expected class indices 1..3, got 0 at position 1")
    H.errors(function() F.cross_entropy(x, cnn.ones(2, 3)) end,
      "cnn.cross_entropy: argument 2 (target): expected shape [2] for an input of shape [2,3], got [2,3]")
    H.errors(function() F.cross_entropy(x, {1, 2}) end, "cnn.cross_entropy: argument 2 (target): expected a tensor, got table")
    H.errors(function() F.cross_entropy(cnn.ones({}), t) end,
      "cnn.cross_entropy: argument 1 (input): expected (N,C), (N,C,d1,...) or (C) scores, got float32 []")
    H.errors(function() F.cross_entropy(x, t, {weight = cnn.ones(2)}) end,
      "cnn.cross_entropy: expected a weight of shape [3] (one per class), got float32 [2]")
    H.errors(function() F.cross_entropy(x, t, {ignore_index = 1.5}) end,
      "cnn.cross_entropy: argument 3 (options): ignore_index must be an integer, got 1.5")
    H.errors(function() F.nll_loss(x, t, {margin = 1}) end,
      "cnn.nll_loss: argument 3 (options): unknown option 'margin' (expected reduction, weight, ignore_index)")
    H.errors(function() F.multi_margin_loss(cnn.ones(2, 2, 2), t) end,
      "cnn.multi_margin_loss: argument 1 (input): expected (N,C) or (C) scores, got float32 [2,2,2]")
    H.errors(function() F.multi_margin_loss(x, t, {p = 3}) end, "cnn.multi_margin_loss: argument 3 (options): p must be 1 or 2, got 3")
    H.errors(function() F.multi_margin_loss(x, t, {margin = "1"}) end,
      "cnn.multi_margin_loss: argument 3 (options): margin must be a number, got string")
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local x = cnn.randn({4, 3}, {requires_grad = true})
      local y, t = cnn.rand(4, 3), cnn.tensor({1, 2, 3, 1})
      local l = F.mse_loss(x, y) + F.l1_loss(x, y) + F.huber_loss(x, y) + F.smooth_l1_loss(x, y)
        + F.binary_cross_entropy(F.sigmoid(x), y, {weight = cnn.ones(3)})
        + F.binary_cross_entropy_with_logits(x, y, {pos_weight = cnn.ones(3)})
        + F.hinge_embedding_loss(x, y) + F.cross_entropy(x, t, {weight = cnn.ones(3)}) + F.nll_loss(x, t)
        + F.multi_margin_loss(x, t)
      l:backward()
      pcall(F.cross_entropy, x, cnn.tensor({1, 2, 3, 9}))
      pcall(F.cross_entropy, x, t, {weight = cnn.ones(2)})
      x, y, t, l = nil, nil, nil, nil
    end)
  end)
end)
