local cnn = require "cnn"
local F = cnn.F
local H = require "helpers"

local f64 = {dtype = "float64", requires_grad = true}

describe("conv1d", function()
  it("computes a hand-checked moving sum with bias, stride and padding", function()
    local x = cnn.tensor({{{1, 2, 3, 4, 5}}})
    local w = cnn.tensor({{{1, 0, -1}}})
    H.close(F.conv1d(x, w), {{{-2, -2, -2}}}, 0)
    H.close(F.conv1d(x, w, cnn.tensor({1}), {padding = 1, stride = 2}), {{{-1, -1, 5}}}, 0)
    H.close(F.conv1d(x, w, nil, {dilation = 2}), {{{-4}}}, 0)
  end)

  it("matches conv2d on H = 1 and accepts unbatched (C,L)", function()
    local x, w = cnn.randn(2, 4, 9, "float64"), cnn.randn(6, 2, 3, "float64")
    local o = {stride = 2, padding = 1, dilation = 2, groups = 2}
    local y = F.conv1d(x, w, nil, o)
    local y2 = F.conv2d(x:unsqueeze(3), w:unsqueeze(3), nil,
      {stride = {1, 2}, padding = {0, 1}, dilation = {1, 2}, groups = 2})
    H.close(y, y2:squeeze(3), 0)
    H.close(F.conv1d(x:select(1, 1), w, nil, o), y:select(1, 1), 0)
  end)

  it("gradchecks input, weight and bias for each option", function()
    local cases = {
      {{2, 3, 7}, {2, 3, 3}, {}},
      {{1, 2, 8}, {3, 2, 2}, {stride = 3, padding = 2}},
      {{2, 4, 9}, {2, 2, 3}, {groups = 2, dilation = 3, padding = 1}},
    }
    for _, c in ipairs(cases) do
      H.gradcheck(function(x, w, b) return F.conv1d(x, w, b, c[3]) end,
        {cnn.randn(c[1], f64), cnn.randn(c[2], f64), cnn.randn({c[2][1]}, f64)})
    end
    H.gradcheck(function(x, w) return F.conv1d(x, w) end, {cnn.randn({3, 6}, f64), cnn.randn({2, 3, 2}, f64)})
  end)

  it("float32 agrees with float64", function()
    local x, w = cnn.randn(2, 3, 20, "float64"), cnn.randn(5, 3, 4, "float64")
    H.close(F.conv1d(x:float(), w:float(), nil, {padding = 2}), F.conv1d(x, w, nil, {padding = 2}), 1e-4)
  end)

  it("raises exact messages", function()
    local x = cnn.randn(2, 3, 8)
    H.errors(function() F.conv1d(x, cnn.randn(4, 3)) end,
      "cnn.conv1d: argument 2 (weight): expected a 3-D tensor, got float32 [4,3]")
    H.errors(function() F.conv1d(cnn.randn(2, 3, 8, 8), cnn.randn(4, 3, 3)) end,
      "cnn.conv1d: argument 1 (input): expected a 2-D (C,L) or 3-D (N,C,L) tensor, got float32 [2,3,8,8]")
    H.errors(function() F.conv1d(x, cnn.randn(4, 2, 3)) end,
      "cnn.conv1d: input float32 [2,3,8] has 3 channels, but weight [4,2,3] with groups=1 expects 2")
    H.errors(function() F.conv1d(x, cnn.randn(4, 3, 9)) end,
      "cnn.conv1d: output size is too small: input [2,3,8] with kernel 9, padding 0 and dilation 1 gives 0")
    H.errors(function() F.conv1d(x, cnn.randn(4, 3, 3), nil, {stride = {1, 2}}) end,
      "cnn.conv1d: argument 4 (options): stride must be an integer, got table")
    H.errors(function() F.conv1d(x, cnn.randn(4, 3, 3), nil, {stride = 0}) end,
      "cnn.conv1d: argument 4 (options): stride must be >= 1, got 0")
  end)

  it("records its result as conv1d, batched or not (issue 16)", function()
    -- it ran as conv2d on unsqueezed views, so grad_fn() said "squeeze"
    local w = cnn.randn({4, 3, 3}, f64)
    assert.equal("conv1d", F.conv1d(cnn.randn(2, 3, 8, "float64"), w):grad_fn())
    assert.equal("conv1d", F.conv1d(cnn.randn(3, 8, "float64"), w, nil, {padding = 1}):grad_fn())
    assert.equal("conv1d", cnn.nn.Conv1d(3, 4, 3)(cnn.randn(2, 3, 8)):grad_fn())
    assert.equal("conv2d", F.conv2d(cnn.randn(3, 8, 8), cnn.randn({4, 3, 3, 3}, {requires_grad = true})):grad_fn())
    -- its saved input, changed in place, is reported under that name
    local x = cnn.randn({2, 3, 8}, f64)
    local y = F.conv1d(x, w)
    cnn.no_grad(function() x:add_(1) end)
    H.errors(function() y:sum():backward() end, "a tensor saved by 'conv1d' for backward was modified in place")
  end)

  it("refuses geometry whose sizes overflow, naming the option (issue 16)", function()
    -- padding 2^62 overflowed 2*padding and was reported as an output too small
    local x, w = cnn.randn(2, 3, 8), cnn.randn(4, 3, 3)
    H.errors(function() F.conv1d(x, w, nil, {padding = 2 ^ 62}) end,
      "cnn.conv1d: argument 4 (options): padding 4611686018427387904 is too large for input [2,3,8] (the padded size overflows)")
    H.errors(function() F.conv1d(x, w, nil, {dilation = 2 ^ 62}) end,
      "cnn.conv1d: argument 4 (options): dilation 4611686018427387904 is too large for kernel 3 (the dilated kernel's size overflows)")
    H.errors(function() F.conv1d(x, w, nil, {padding = 2 ^ 60}) end,
      "cnn.conv1d: output [2,4,2305843009213693958] is too large (the element count overflows): input [2,3,8] " ..
      "with kernel 3, stride 1, padding 1152921504606846976 and dilation 1")
    local y = F.conv1d(x, w, nil, {stride = math.maxinteger, padding = 2 ^ 61, dilation = 2 ^ 59})
    assert.same({2, 4, 1}, y:size())
    assert.equal(0, y:abs():max():item())
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local x, w = cnn.randn({2, 3, 10}, {requires_grad = true}), cnn.randn({4, 3, 3}, {requires_grad = true})
      F.conv1d(x, w, nil, {padding = 1}):sum():backward()
    end)
  end)
end)

describe("conv1d padding \"same\" and \"valid\"", function()
  it("matches PyTorch's placement: the odd zero on the right", function()
    local x = cnn.tensor({{{0, 1, 2, 3, 4, 5}}})
    local w4 = cnn.tensor({{{1, 0, 0, 0}}})               -- total 3: left 1, right 2
    H.close(F.conv1d(x, w4, nil, {padding = "same"}), {{{0, 0, 1, 2, 3, 4}}}, 0)
    local w2 = cnn.tensor({{{1, 0}}})                     -- total 1: left 0, right 1
    H.close(F.conv1d(x, w2, nil, {padding = "same"}), {{{0, 1, 2, 3, 4, 5}}}, 0)
    H.close(F.conv1d(x, w2, nil, {padding = "same", dilation = 3}), {{{0, 0, 1, 2, 3, 4}}}, 0)
    H.close(F.conv1d(x, cnn.tensor({{{0, 1}}}), nil, {padding = "same"}), {{{1, 2, 3, 4, 5, 0}}}, 0)
    H.close(F.conv1d(x, w2, nil, {padding = "valid"}), {{{0, 1, 2, 3, 4}}}, 0)
  end)

  it("gradchecks, and nn.Conv1d takes the strings", function()
    cnn.manual_seed(22)
    H.gradcheck(function(a, w, b) return F.conv1d(a, w, b, {padding = "same", dilation = 2}) end,
      {cnn.randn({2, 3, 7}, f64), cnn.randn({2, 3, 4}, f64), cnn.randn({2}, f64)})
    local m = cnn.nn.Conv1d(2, 3, 4, {padding = "same"})
    assert.are.same({1, 3, 9}, m(cnn.randn(1, 2, 9)):size())
    H.errors(function() F.conv1d(cnn.randn(1, 2, 9), cnn.randn(3, 2, 2), nil, {padding = "same", stride = 2}) end,
      'cnn.conv1d: argument 4 (options): padding "same" needs stride 1 (as PyTorch), got stride 2')
    H.errors(function() F.conv1d(cnn.randn(1, 2, 9), cnn.randn(3, 2, 2), nil, {padding = {1, 1}}) end,
      "cnn.conv1d: argument 4 (options): padding must be an integer, got table")
  end)
end)
