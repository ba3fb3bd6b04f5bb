local cnn = require "cnn"
local F = cnn.F
local nn = cnn.nn
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

  it("gives the same bits at 1 and 2 threads (channels shared out), forward and backward", function()
    local was = cnn.get_num_threads()
    finally(function() cnn.set_num_threads(was) end)
    local x0 = cnn.randn(4, 24, 40, 41)                    -- 157K elements: threaded
    local r = {}
    for _, threads in ipairs({1, 2}) do
      cnn.set_num_threads(threads)
      local x, w, b = x0:clone():requires_grad(true), cnn.linspace(0.5, 2, 24):requires_grad(true), cnn.zeros({24}, {requires_grad = true})
      local rm, rv = cnn.zeros(24), cnn.ones(24)
      local y = F.batch_norm(x, rm, rv, w, b, {training = true})
      local loss = (y * y:detach():tanh()):sum()
      loss:backward()
      local ye = F.batch_norm(x0, rm, rv, w:detach(), b:detach(), {training = false})
      r[threads] = {y, x.grad, w.grad, b.grad, rm, rv, ye}
    end
    for i = 1, 7 do assert.are.equal(0, H.maxdiff(r[1][i], r[2][i])) end
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

-- reference normalisation of plain Lua rows: each row of `rows` (a list of lists) standardised with
-- its biased variance, then scaled by w[a(i)] and shifted by b[a(i)]
local function ref_rows(rows, eps, aff)
  local out = {}
  for r, row in ipairs(rows) do
    local n, m, v = #row, 0, 0
    for _, x in ipairs(row) do m = m + x end
    m = m / n
    for _, x in ipairs(row) do v = v + (x - m) ^ 2 end
    v = v / n
    out[r] = {}
    for i, x in ipairs(row) do
      local w, b = 1, 0
      if aff then w, b = aff(r, i) end
      out[r][i] = (x - m) / math.sqrt(v + eps) * w + b
    end
  end
  return out
end

describe("layer_norm", function()
  it("normalises each sample over the trailing dimensions (values computed independently)", function()
    cnn.manual_seed(11)
    local x = cnn.randn({3, 2, 4}, "float64")
    local w, b = cnn.randn({2, 4}, "float64"), cnn.randn({2, 4}, "float64")
    local xt, wt, bt = x:reshape(3, 8):totable(), w:reshape(8):totable(), b:reshape(8):totable()
    local want = ref_rows(xt, 1e-5, function(_, i) return wt[i], bt[i] end)
    H.close(F.layer_norm(x, {2, 4}, w, b):reshape(3, 8), want, 1e-12)
    -- over the last dimension only, with a size instead of a table, no affine, a given eps
    local want1 = ref_rows(x:reshape(6, 4):totable(), 0.5)
    H.close(F.layer_norm(x, 4, nil, nil, 0.5):reshape(6, 4), want1, 1e-12)
    H.close(F.layer_norm(t64({{1, 2, 3}, {4, 6, 8}}), {3}, nil, nil, 0),
      {{-math.sqrt(1.5), 0, math.sqrt(1.5)}, {-math.sqrt(1.5), 0, math.sqrt(1.5)}}, 1e-14)
    -- the whole input as one sample; a transposed (non-contiguous) input
    H.close(F.layer_norm(x, {3, 2, 4}):reshape(1, 24), ref_rows(x:reshape(1, 24):totable(), 1e-5), 1e-12)
    local xt2 = x:transpose(1, 3)
    H.close(F.layer_norm(xt2, {2, 3}):reshape(4, 6), ref_rows(xt2:contiguous():reshape(4, 6):totable(), 1e-5), 1e-12)
  end)

  it("gradchecks with and without affine parameters", function()
    cnn.manual_seed(3)
    local x = cnn.randn({3, 2, 4}, f64)
    local w, b = cnn.randn({2, 4}, f64), cnn.randn({2, 4}, f64)
    H.gradcheck(function(a, ww, bb) return F.layer_norm(a, {2, 4}, ww, bb) end, {x, w, b})
    H.gradcheck(function(a) return F.layer_norm(a, {4}, nil, nil, 1e-3) end, {x})
    H.gradcheck(function(a, ww) return F.layer_norm(a:transpose(1, 3), {3}, ww) end, {x, cnn.randn({3}, f64)})
  end)

  it("float32 agrees with float64", function()
    cnn.manual_seed(5)
    local x, w, b = cnn.randn({4, 6}, f64), cnn.randn(6, f64), cnn.randn(6, f64)
    local y = F.layer_norm(x, 6, w, b)
    local x32, w32, b32 = x:detach():float():requires_grad(true), w:detach():float():requires_grad(true), b:detach():float():requires_grad(true)
    local y32 = F.layer_norm(x32, 6, w32, b32)
    assert.are.equal("float32", y32:dtype())
    H.close(y32, y, 1e-5)
    local g = cnn.randn({4, 6}, "float64")
    cnn.sum(y * g):backward(); cnn.sum(y32 * g:float()):backward()
    H.close(x32.grad, x.grad, 1e-4); H.close(w32.grad, w.grad, 1e-4); H.close(b32.grad, b.grad, 1e-5)
  end)

  it("nn.LayerNorm holds weight and bias of normalized_shape and normalises the same in eval mode", function()
    local m = nn.LayerNorm({2, 3})
    assert.are.same({2, 3}, m.weight:size()); assert.are.same({2, 3}, m.bias:size())
    local x = cnn.randn(4, 2, 3)
    H.close(m(x), F.layer_norm(x, {2, 3}), 1e-6)
    m:eval()
    H.close(m(x), F.layer_norm(x, {2, 3}), 1e-6)
    local m2 = nn.LayerNorm(3, {eps = 1e-3, elementwise_affine = false})
    assert.is_nil(m2.weight)
    H.close(m2(x), F.layer_norm(x, 3, nil, nil, 1e-3), 0)
    assert.are.equal("nn.LayerNorm({2, 3}, eps = 1e-05, elementwise_affine = true)", tostring(m):match("^[^\n]*%)"))
  end)

  it("raises on bad arguments", function()
    local x = cnn.randn(2, 3)
    H.errors(function() F.layer_norm(x, {2}) end,
      "cnn.layer_norm: argument 1 (input): expected trailing dimensions [2] (normalized_shape), got float32 [2,3]")
    H.errors(function() F.layer_norm(x, {3}, cnn.ones(2)) end,
      "cnn.layer_norm: argument 3 (weight): expected shape [3] (normalized_shape), got float32 [2]")
    H.errors(function() F.layer_norm(x, {3}, nil, cnn.ones(3, 1)) end,
      "cnn.layer_norm: argument 4 (bias): expected shape [3] (normalized_shape), got float32 [3,1]")
    H.errors(function() F.layer_norm(x, {2, 2, 3}) end,
      "cnn.layer_norm: argument 1 (input): expected trailing dimensions [2,2,3] (normalized_shape), got float32 [2,3]")
    H.errors(function() F.layer_norm(x, {}) end,
      "cnn.layer_norm: argument 2 (normalized_shape): expected at least one size, got an empty table")
    H.errors(function() F.layer_norm(x, "3") end,
      "cnn.layer_norm: argument 2 (normalized_shape): expected a table of sizes or a size, got string")
    H.errors(function() F.layer_norm(x, 3, nil, nil, -1) end,
      "cnn.layer_norm: argument 5 (eps): expected a number >= 0, got -1")
    H.errors(function() nn.LayerNorm(0) end,
      "cnn.nn.LayerNorm: argument 1 (normalized_shape): expected a positive integer, got 0")
    H.errors(function() nn.LayerNorm(3, {affine = false}) end,
      "cnn.nn.LayerNorm: argument 2 (options): unknown option 'affine' (expected elementwise_affine, eps)")
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local x = cnn.randn({4, 3, 2}, {requires_grad = true})
      local m = nn.LayerNorm({3, 2})
      m(x):sum():backward()
      pcall(F.layer_norm, x, {2})
      x, m = nil, nil
    end)
  end)
end)

describe("group_norm", function()
  it("normalises each sample over groups of channels (values computed independently)", function()
    cnn.manual_seed(12)
    local x = cnn.randn({2, 6, 3, 2}, "float64")
    local w, b = cnn.randn(6, "float64"), cnn.randn(6, "float64")
    local wt, bt = w:totable(), b:totable()
    -- 3 groups of 2 channels: rows of 2*3*2 = 12 values, channel = group*2 + (i-1)//6 + 1
    local want = ref_rows(x:reshape(6, 12):totable(), 1e-5, function(r, i)
      local ch = ((r - 1) % 3) * 2 + (i - 1) // 6 + 1
      return wt[ch], bt[ch]
    end)
    H.close(F.group_norm(x, 3, w, b):reshape(6, 12), want, 1e-12)
    -- one group is a layer norm over (C,H,W) without affine; C groups is an instance norm
    H.close(F.group_norm(x, 1, nil, nil, 0.1), F.layer_norm(x, {6, 3, 2}, nil, nil, 0.1), 1e-14)
    H.close(F.group_norm(x, 6):reshape(12, 6), ref_rows(x:reshape(12, 6):totable(), 1e-5), 1e-12)
    -- (N,C) and (N,C,L) inputs
    local x2 = t64({{1, 2, 3, 5}})
    H.close(F.group_norm(x2, 2, nil, nil, 0), {{-1, 1, -1, 1}}, 1e-15)
    local x3 = cnn.randn({2, 4, 5}, "float64")
    H.close(F.group_norm(x3, 2):reshape(4, 10), ref_rows(x3:reshape(4, 10):totable(), 1e-5), 1e-12)
  end)

  it("gradchecks with and without affine parameters, over 2-D, 3-D and 4-D input", function()
    cnn.manual_seed(6)
    for _, shape in ipairs { {3, 4}, {2, 4, 3}, {2, 6, 2, 2} } do
      local C = shape[2]
      local x = cnn.randn(shape, f64)
      local w, b = cnn.randn({C}, f64), cnn.randn({C}, f64)
      H.gradcheck(function(a, ww, bb) return F.group_norm(a, 2, ww, bb) end, {x, w, b})
      H.gradcheck(function(a) return F.group_norm(a, C // 2 > 1 and C // 2 or 1, nil, nil, 1e-3) end, {x})
    end
  end)

  it("float32 agrees with float64", function()
    cnn.manual_seed(7)
    local x, w, b = cnn.randn({3, 4, 5}, f64), cnn.randn(4, f64), cnn.randn(4, f64)
    local y = F.group_norm(x, 2, w, b)
    local x32, w32, b32 = x:detach():float():requires_grad(true), w:detach():float():requires_grad(true), b:detach():float():requires_grad(true)
    local y32 = F.group_norm(x32, 2, w32, b32)
    H.close(y32, y, 1e-5)
    local g = cnn.randn({3, 4, 5}, "float64")
    cnn.sum(y * g):backward(); cnn.sum(y32 * g:float()):backward()
    H.close(x32.grad, x.grad, 1e-4); H.close(w32.grad, w.grad, 1e-4); H.close(b32.grad, b.grad, 1e-5)
  end)

  it("nn.GroupNorm holds per-channel weight and bias", function()
    local m = nn.GroupNorm(2, 4)
    assert.are.same({4}, m.weight:size())
    local x = cnn.randn(3, 4, 2, 2)
    H.close(m(x), F.group_norm(x, 2), 1e-6)
    local m2 = nn.GroupNorm(4, 4, {eps = 1e-2, affine = false})
    assert.is_nil(m2.weight)
    H.close(m2(x), F.group_norm(x, 4, nil, nil, 1e-2), 0)
  end)

  it("raises on bad arguments", function()
    local x = cnn.randn(2, 6, 3)
    H.errors(function() F.group_norm(x, 4) end,
      "cnn.group_norm: argument 2 (num_groups): expected a divisor of the channels of input float32 [2,6,3], got 4")
    H.errors(function() F.group_norm(x, 0) end,
      "cnn.group_norm: argument 2 (num_groups): expected a divisor of the channels of input float32 [2,6,3], got 0")
    H.errors(function() F.group_norm(x, 2, cnn.ones(3)) end,
      "cnn.group_norm: argument 3 (weight): expected shape [6] (the channels of input float32 [2,6,3]), got float32 [3]")
    H.errors(function() F.group_norm(cnn.randn(6), 2) end,
      "cnn.group_norm: argument 1 (input): expected (N,C,...) with 2 or more dimensions, got float32 [6]")
    H.errors(function() F.group_norm(x, 2.5) end, "cnn.group_norm: argument 2 (num_groups)")
    H.errors(function() nn.GroupNorm(4, 6) end,
      "cnn.nn.GroupNorm: argument 1 (num_groups): expected a divisor of num_channels (6), got 4")
    H.errors(function() nn.GroupNorm(2, 6, {momentum = 0.1}) end,
      "cnn.nn.GroupNorm: argument 3 (options): unknown option 'momentum' (expected affine, eps)")
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local x = cnn.randn({4, 4, 2}, {requires_grad = true})
      local m = nn.GroupNorm(2, 4)
      m(x):sum():backward()
      pcall(F.group_norm, x, 3)
      x, m = nil, nil
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
