local cnn = require "cnn"
local F = cnn.F
local H = require "helpers"

local f64 = {dtype = "float64", requires_grad = true}

-- distinct values (a fixed shuffle of 0.1, 0.2, ...): max-pool gradients are exact only away from ties
local function distinct(shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  local v = {}
  for i = 1, n do v[i] = i / 10 end
  local r = 12345
  for i = n, 2, -1 do
    r = (r * 1103515245 + 12345) % 2147483648
    local j = r % i + 1
    v[i], v[j] = v[j], v[i]
  end
  return cnn.tensor(v, "float64"):view(shape):clone():requires_grad(true)
end

describe("max_pool2d", function()
  local x = cnn.arange(1, 17):view(1, 1, 4, 4)
  it("computes hand-checked maxima", function()
    H.close(F.max_pool2d(x, 2), {{{{6, 8}, {14, 16}}}}, 0)
    H.close(F.max_pool2d(x, 3, {stride = 1}), {{{{11, 12}, {15, 16}}}}, 0)
    H.close(F.max_pool2d(x, 2, {padding = 1}), {{{{1, 3, 4}, {9, 11, 12}, {13, 15, 16}}}}, 0)
    H.close(F.max_pool2d(x, 3, {stride = 2, ceil_mode = true}), {{{{11, 12}, {15, 16}}}}, 0)
    H.close(F.max_pool2d(x, 2, {stride = 1, dilation = 2}), {{{{11, 12}, {15, 16}}}}, 0)
    H.close(F.max_pool2d(x, {1, 2}), {{{{2, 4}, {6, 8}, {10, 12}, {14, 16}}}}, 0)
  end)
  it("sends the gradient to the first maximum of a tie", function()
    local t = cnn.tensor({{{{1, 1}, {1, 1}}}}, f64)
    F.max_pool2d(t, 2):sum():backward()
    H.close(t.grad, {{{{1, 0}, {0, 0}}}}, 0)
  end)
  it("lets a NaN win a 2x2 window (the last NaN), in float32 and float64, as the general path", function()
    local nan = 0 / 0
    for _, dt in ipairs({"float32", "float64"}) do
      local v = {{{{1, nan, 5, 5}, {nan, 0, 7, 5}, {2, 2, -1, -1}, {2, 3, -1, -1}}}}
      local t = cnn.tensor(v, {dtype = dt, requires_grad = true})
      local y = F.max_pool2d(t, 2)
      assert.is_true(y[1][1][1][1] ~= y[1][1][1][1])
      assert.equal(7, y[1][1][1][2]); assert.equal(3, y[1][1][2][1]); assert.equal(-1, y[1][1][2][2])
      y:sum():backward()
      H.close(t.grad, {{{{0, 0, 0, 0}, {1, 0, 1, 0}, {0, 0, 1, 0}, {0, 1, 0, 0}}}}, 0)
      -- padded to 5x5 with ceil_mode, the same windows take the general path
      local u = F.pad(t:detach(), {0, 1, 0, 1}, "constant", -100):requires_grad(true)
      local z = F.max_pool2d(u, 2, {ceil_mode = true})
      assert.is_true(z[1][1][1][1] ~= z[1][1][1][1])
      assert.equal(7, z[1][1][1][2]); assert.equal(3, z[1][1][2][1]); assert.equal(-1, z[1][1][2][2])
      z:sum():backward()
      H.close(u.grad:narrow(3, 1, 4):narrow(4, 1, 4), t.grad, 0)
    end
  end)
  it("gradchecks every option", function()
    for _, o in ipairs({{}, {stride = 1}, {padding = 1}, {stride = {2, 1}, padding = {1, 0}, dilation = {1, 2}},
                        {stride = 2, ceil_mode = true}}) do
      H.gradcheck(function(t) return F.max_pool2d(t, {3, 2}, o) end, {distinct({2, 2, 7, 6})})
    end
    H.gradcheck(function(t) return F.max_pool2d(t, 2) end, {distinct({3, 4, 4})})
  end)
end)

describe("avg_pool2d", function()
  local x = cnn.arange(1, 17):view(1, 1, 4, 4)
  it("computes hand-checked means, counting padding by default", function()
    H.close(F.avg_pool2d(x, 2), {{{{3.5, 5.5}, {11.5, 13.5}}}}, 0)
    H.close(F.avg_pool2d(x, 2, {padding = 1}), {{{{0.25, 1.25, 1}, {3.5, 8.5, 5}, {3.25, 7.25, 4}}}}, 1e-6)
    H.close(F.avg_pool2d(x, 2, {padding = 1, count_include_pad = false}),
      {{{{1, 2.5, 4}, {7, 8.5, 10}, {13, 14.5, 16}}}}, 1e-6)
    -- ceil_mode: the overhanging window counts only what lies inside input + padding
    H.close(F.avg_pool2d(x, 3, {stride = 2, ceil_mode = true}), {{{{6, 7.5}, {12, 13.5}}}}, 1e-6)
  end)
  it("gradchecks every option", function()
    for _, o in ipairs({{}, {stride = 1}, {padding = 1}, {padding = 1, count_include_pad = false},
                        {stride = 2, ceil_mode = true}, {stride = {1, 2}, padding = {1, 0}, ceil_mode = true}}) do
      H.gradcheck(function(t) return F.avg_pool2d(t, {3, 2}, o) end, {cnn.randn({2, 2, 7, 6}, f64)})
    end
  end)
end)

describe("adaptive_avg_pool2d", function()
  it("averages PyTorch's overlapping windows", function()
    local x = cnn.arange(1, 17):view(1, 1, 4, 4)
    H.close(F.adaptive_avg_pool2d(x, {3, 2}), {{{{3.5, 5.5}, {7.5, 9.5}, {11.5, 13.5}}}}, 1e-6)
    H.close(F.adaptive_avg_pool2d(x, 1), {{{{8.5}}}}, 1e-6)
    assert.same({1, 1, 5, 7}, F.adaptive_avg_pool2d(x, {5, 7}):size())
  end)
  it("gradchecks shrinking and growing", function()
    for _, s in ipairs({{3, 2}, 1, {4, 5}, {7, 3}}) do
      H.gradcheck(function(t) return F.adaptive_avg_pool2d(t, s) end, {cnn.randn({2, 2, 5, 4}, f64)})
    end
  end)
end)

-- adaptive windows computed here, independently of the core: [floor(i*L/O), ceil((i+1)*L/O)), 1-based
local function windows(L, O)
  local w = {}
  for i = 0, O - 1 do w[i + 1] = { i * L // O + 1, -((-(i + 1) * L) // O) } end
  return w
end
-- reference adaptive pool of a plain (H x W) table with reducer f over a window's values
local function ref_adaptive(t, OH, OW, f)
  local H, W = #t, #t[1]
  local out = {}
  for i, wh in ipairs(windows(H, OH)) do
    out[i] = {}
    for j, ww in ipairs(windows(W, OW)) do
      local vals = {}
      for a = wh[1], wh[2] do for b = ww[1], ww[2] do vals[#vals + 1] = t[a][b] end end
      out[i][j] = f(vals)
    end
  end
  return out
end
local function vmax(v) local m = -math.huge; for _, x in ipairs(v) do if x > m then m = x end end; return m end
local function vmean(v) local s = 0; for _, x in ipairs(v) do s = s + x end; return s / #v end

describe("adaptive_max_pool2d, adaptive_avg_pool1d, adaptive_max_pool1d", function()
  it("compute the maxima and means of PyTorch's overlapping windows (values computed independently)", function()
    cnn.manual_seed(31)
    local x = cnn.randn(2, 3, 7, 5, "float64")
    for _, s in ipairs { {3, 2}, {4, 5}, {7, 5}, {2, 8}, {1, 1} } do
      local y = F.adaptive_max_pool2d(x, s)
      assert.same({2, 3, s[1], s[2]}, y:size())
      for n = 1, 2 do for ch = 1, 3 do
        H.close(y[n][ch], ref_adaptive(x[n][ch]:totable(), s[1], s[2], vmax), 0)
      end end
    end
    local t = cnn.randn(2, 3, 11, "float64")
    for _, o in ipairs { 1, 3, 4, 11, 13 } do
      local ym, ya = F.adaptive_max_pool1d(t, o), F.adaptive_avg_pool1d(t, o)
      assert.same({2, 3, o}, ym:size())
      for n = 1, 2 do for ch = 1, 3 do
        local row = { t[n][ch]:totable() }
        H.close(ym[n][ch], ref_adaptive(row, 1, o, vmax)[1], 0)
        H.close(ya[n][ch], ref_adaptive(row, 1, o, vmean)[1], 1e-15)
      end end
    end
    H.close(F.adaptive_avg_pool1d(cnn.tensor({{{1, 2, 3, 4, 5}}}), 2), {{{2, 4}}}, 0)
    H.close(F.adaptive_max_pool1d(cnn.tensor({{{1, 5, 2, 4, 3}}}), 2), {{{5, 4}}}, 0)
  end)

  it("take the first maximum of a tie, let a NaN win, and pass the gradient to the winner", function()
    local x = cnn.tensor({{1, 3, 3, 2, 0}}, f64)
    local y = F.adaptive_max_pool1d(x, 2)                 -- windows {1,2,3} and {3,4,5}
    H.close(y, {{3, 3}}, 0)
    y:sum():backward()
    H.close(x.grad, {{0, 1, 1, 0, 0}}, 0)                 -- the first 3 of each window (PyTorch: indices 1, 2)
    local nan = F.adaptive_max_pool1d(cnn.tensor({{1, 0 / 0, 3, 2, 0 / 0}}), 2)
    assert.is_true(nan[1][1] ~= nan[1][1] and nan[1][2] ~= nan[1][2])
    assert.equal(-math.huge, F.adaptive_max_pool1d(cnn.tensor({{-1 / 0, -1 / 0}}), 1)[1][1])
  end)

  it("treat a 3-D input to a 2d form as one unbatched (C,H,W) image and a 2-D input to a 1d form as (C,L), as PyTorch", function()
    local x = cnn.randn(3, 6, 5, "float64")
    assert.same({3, 2, 2}, F.adaptive_avg_pool2d(x, 2):size())
    assert.same({3, 2, 2}, F.adaptive_max_pool2d(x, 2):size())
    H.close(F.adaptive_avg_pool2d(x, {4, 3}), F.adaptive_avg_pool2d(x:unsqueeze(1), {4, 3}):squeeze(1), 0)
    H.close(F.adaptive_max_pool2d(x, {4, 3}), F.adaptive_max_pool2d(x:unsqueeze(1), {4, 3}):squeeze(1), 0)
    local s = cnn.randn(4, 9, "float64")
    assert.same({4, 3}, F.adaptive_avg_pool1d(s, 3):size())
    H.close(F.adaptive_max_pool1d(s, 3), F.adaptive_max_pool1d(s:unsqueeze(1), 3):squeeze(1), 0)
    assert.same({3, 2, 2}, cnn.nn.AdaptiveAvgPool2d(2)(x:float()):size())
    H.errors(function() F.adaptive_avg_pool2d(cnn.randn(6, 5), 2) end,
      "cnn.adaptive_avg_pool2d: argument 1 (input): expected a 3-D (C,H,W) or 4-D (N,C,H,W) tensor, got float32 [6,5]")
    H.errors(function() F.adaptive_max_pool1d(cnn.randn(9), 2) end,
      "cnn.adaptive_max_pool1d: argument 1 (input): expected a 2-D (C,L) or 3-D (N,C,L) tensor, got float32 [9]")
  end)

  it("gradcheck shrinking and growing", function()
    for _, s in ipairs { {3, 2}, {6, 7}, 1 } do
      H.gradcheck(function(t) return F.adaptive_max_pool2d(t, s) end, {distinct({2, 2, 5, 4})})
    end
    for _, o in ipairs { 3, 8, 1 } do
      H.gradcheck(function(t) return F.adaptive_max_pool1d(t, o) end, {distinct({2, 3, 7})})
      H.gradcheck(function(t) return F.adaptive_avg_pool1d(t, o) end, {cnn.randn({2, 3, 7}, f64)})
    end
  end)

  it("float32 agrees with float64; modules and messages", function()
    local x = cnn.randn(2, 3, 9, 8, "float64")
    H.close(F.adaptive_max_pool2d(x:float(), {4, 3}), F.adaptive_max_pool2d(x, {4, 3}), 1e-6)
    local t = cnn.randn(2, 3, 10, "float64")
    H.close(F.adaptive_avg_pool1d(t:float(), 4), F.adaptive_avg_pool1d(t, 4), 1e-6)
    local nn = cnn.nn
    H.close(nn.AdaptiveMaxPool2d({4, 3})(x), F.adaptive_max_pool2d(x, {4, 3}), 0)
    H.close(nn.AdaptiveMaxPool1d(4)(t), F.adaptive_max_pool1d(t, 4), 0)
    H.close(nn.AdaptiveAvgPool1d(4)(t), F.adaptive_avg_pool1d(t, 4), 0)
    assert.same({4, 3}, nn.AdaptiveMaxPool2d({4, 3}).output_size)
    assert.same({2, 2}, nn.AdaptiveMaxPool2d(2).output_size)
    assert.equal(4, nn.AdaptiveAvgPool1d(4).output_size)
    assert.equal("adaptive_max_pool1d", F.adaptive_max_pool1d(t:detach():requires_grad(true), 2):grad_fn())
    assert.equal("adaptive_avg_pool1d", F.adaptive_avg_pool1d(t:detach():requires_grad(true), 2):grad_fn())
    H.errors(function() F.adaptive_max_pool2d(x, {0, 2}) end,
      "cnn.adaptive_max_pool2d: argument 2 (output_size): expected sizes >= 1, got 0x2")
    H.errors(function() F.adaptive_avg_pool1d(t, {2, 2}) end,
      "cnn.adaptive_avg_pool1d: argument 2 (output_size): expected an integer, got table")
    H.errors(function() F.adaptive_max_pool1d(t) end,
      "cnn.adaptive_max_pool1d: argument 2 (output_size): expected an integer, got no value")
    H.errors(function() F.adaptive_max_pool1d(t, 2^62) end, "cnn.adaptive_max_pool1d: ")
    H.errors(function() nn.AdaptiveMaxPool1d({2}) end,
      "cnn.nn.AdaptiveMaxPool1d: argument 1 (output_size): expected a positive integer, got table")
  end)

  it("leak nothing", function()
    H.no_leak(function()
      local x = cnn.randn({2, 3, 5, 6}, {requires_grad = true})
      F.adaptive_max_pool2d(x, {2, 3}):sum():backward()
      F.adaptive_avg_pool1d(x:view(2, 3, 30), 7):sum():backward()
      F.adaptive_max_pool1d(x:view(2, 3, 30), 7):sum():backward()
      pcall(F.adaptive_max_pool2d, x, 0)
      x = nil
    end)
  end)
end)

describe("1-D pools", function()
  it("compute hand-checked values and match the 2-D pools on H = 1", function()
    local x = cnn.tensor({{{1, 5, 2, 4, 3}}})
    H.close(F.max_pool1d(x, 2), {{{5, 4}}}, 0)
    H.close(F.max_pool1d(x, 2, {ceil_mode = true}), {{{5, 4, 3}}}, 0)
    H.close(F.avg_pool1d(x, 3, {stride = 1}), {{{8 / 3, 11 / 3, 3}}}, 1e-6)
    local t = cnn.randn(2, 3, 11, "float64")
    H.close(F.max_pool1d(t, 3, {stride = 2, padding = 1, dilation = 2}),
      F.max_pool2d(t:unsqueeze(3), {1, 3}, {stride = {1, 2}, padding = {0, 1}, dilation = {1, 2}}):squeeze(3), 0)
    H.close(F.avg_pool1d(t:select(1, 1), 2), F.avg_pool1d(t, 2):select(1, 1), 0)
  end)
  it("gradcheck", function()
    H.gradcheck(function(t) return F.max_pool1d(t, 3, {stride = 2, padding = 1}) end, {distinct({2, 3, 9})})
    H.gradcheck(function(t) return F.avg_pool1d(t, 3, {stride = 2, padding = 1, count_include_pad = false}) end,
      {cnn.randn({2, 3, 9}, f64)})
  end)
end)

describe("pools", function()
  it("float32 agrees with float64", function()
    local x = cnn.randn(2, 3, 9, 8, "float64")
    H.close(F.max_pool2d(x:float(), 3, {stride = 2, padding = 1}), F.max_pool2d(x, 3, {stride = 2, padding = 1}), 1e-6)
    H.close(F.avg_pool2d(x:float(), 3, {stride = 2, padding = 1}), F.avg_pool2d(x, 3, {stride = 2, padding = 1}), 1e-5)
    H.close(F.adaptive_avg_pool2d(x:float(), {4, 3}), F.adaptive_avg_pool2d(x, {4, 3}), 1e-5)
  end)

  it("raise exact messages", function()
    local x = cnn.randn(1, 2, 4, 4)
    H.errors(function() F.max_pool2d(x, 5) end,
      "cnn.max_pool2d: output size is too small: input [1,2,4,4] with kernel 5x5, stride 5x5 gives 0x0")
    H.errors(function() F.max_pool2d(x, 2, {padding = 2}) end,
      "cnn.max_pool2d: argument 3 (options): padding must be >= 0 and at most half the kernel size, got padding 2x2 for kernel 2x2")
    H.errors(function() F.max_pool2d(cnn.randn(4, 4), 2) end,
      "cnn.max_pool2d: argument 1 (input): expected a 3-D (C,H,W) or 4-D (N,C,H,W) tensor, got float32 [4,4]")
    H.errors(function() F.max_pool2d(x) end,
      "cnn.max_pool2d: argument 2 (kernel_size): expected an integer or a {h,w} pair of integers, got no value")
    H.errors(function() F.max_pool2d(x, 0) end,
      "cnn.max_pool2d: argument 2 (kernel_size): expected sizes >= 1, got 0x0")
    H.errors(function() F.max_pool2d(x, 2, {stride = 0}) end,
      "cnn.max_pool2d: argument 3 (options): stride must be >= 1, got 0x0")
    H.errors(function() F.max_pool2d(x, 2, {count_include_pad = true}) end,
      "cnn.max_pool2d: argument 3 (options): unknown option 'count_include_pad' (expected stride, padding, dilation, ceil_mode)")
    H.errors(function() F.avg_pool2d(x, 2, {dilation = 2}) end,
      "cnn.avg_pool2d: argument 3 (options): unknown option 'dilation' (expected stride, padding, ceil_mode, count_include_pad)")
    H.errors(function() F.avg_pool2d(x, 2, {ceil_mode = 1}) end,
      "cnn.avg_pool2d: argument 3 (options): ceil_mode must be a boolean, got number")
    H.errors(function() F.max_pool1d(x, 2) end,
      "cnn.max_pool1d: argument 1 (input): expected a 2-D (C,L) or 3-D (N,C,L) tensor, got float32 [1,2,4,4]")
    H.errors(function() F.avg_pool1d(cnn.randn(2, 3, 4), {2, 2}) end,
      "cnn.avg_pool1d: argument 2 (kernel_size): expected an integer, got table")
    H.errors(function() F.adaptive_avg_pool2d(x, {0, 2}) end,
      "cnn.adaptive_avg_pool2d: argument 2 (output_size): expected sizes >= 1, got 0x2")
    H.errors(function() F.adaptive_avg_pool2d(x, "a") end,
      "cnn.adaptive_avg_pool2d: argument 2 (output_size): expected an integer or a {h,w} pair of integers, got string")
  end)

  it("refuse geometry whose sizes overflow, and loop only over the taps that reach the input (issue 16)", function()
    local x = cnn.randn(1, 2, 4, 4)
    H.errors(function() F.max_pool2d(x, 3, {dilation = 2 ^ 62}) end,
      "cnn.max_pool2d: argument 3 (options): dilation 4611686018427387904x4611686018427387904 is too large for " ..
      "kernel 3x3 (the dilated kernel's size overflows)")
    H.errors(function() F.avg_pool1d(cnn.randn(1, 1, 8), math.maxinteger, {padding = math.maxinteger // 2}) end,
      "cnn.avg_pool1d: argument 3 (options): padding 4611686018427387903 is too large for input [1,1,8] " ..
      "(the padded size overflows)")
    H.errors(function() F.avg_pool2d(x, 2 ^ 40, {padding = 2 ^ 39}) end,
      "cnn.avg_pool2d: argument 3 (options): padding 549755813888x549755813888 is too large for input [1,2,4,4]")
    H.errors(function() F.adaptive_avg_pool2d(x, {math.maxinteger, 1}) end,
      "cnn.adaptive_avg_pool2d: argument 2 (output_size): 9223372036854775807x1 is too large for input [1,2,4,4] " ..
      "(the window bounds overflow)")
    H.errors(function() F.adaptive_avg_pool2d(x, 2 ^ 40) end,
      "cnn.adaptive_avg_pool2d: output size 1099511627776x1099511627776 is too large for input [1,2,4,4] " ..
      "(the element count overflows)")
    H.errors(function() F.max_pool1d(cnn.randn(1, 1, 8), math.maxinteger, {padding = math.maxinteger // 2}) end,
      "cnn.max_pool1d: argument 3 (options): padding 4611686018427387903 is too large for input [1,1,8] " ..
      "(the padded size overflows)")
    -- a kernel of 2^62 with padding 2^61 over 8 elements: one window holding them all (this
    -- read out of bounds; the max pool now visits only the 8 taps inside the input)
    local t = cnn.randn(1, 1, 8)
    local y = F.max_pool1d(t, 2 ^ 62, {padding = 2 ^ 61, ceil_mode = true})
    assert.same({1, 1, 1}, y:size())
    assert.equal(t:max():item(), y:item())
    y = F.max_pool2d(x, 2 ^ 40, {padding = 2 ^ 39, stride = 2 ^ 62})
    assert.same({1, 2, 1, 1}, y:size())
    H.close(y:view(2), x:view(2, 16):max(2), 0)
    local a = F.avg_pool1d(t, 2 ^ 40, {padding = 2 ^ 39, stride = math.maxinteger, ceil_mode = true})
    H.close(a, t:sum():view(1, 1, 1) / 2 ^ 40, 1e-12)
  end)

  it("give -inf and no gradient for a window whose dilated taps all miss the input", function()
    -- kernel 2, dilation 3, padding 2 over one element: the taps fall at -2 and 1. Backward
    -- added dy at index -1, in the previous plane (or before the buffer: heap corruption).
    local x = cnn.randn({1, 2, 1}, {dtype = "float64", requires_grad = true})
    local y = F.max_pool1d(x, 2, {padding = 2, dilation = 3})
    assert.same({1, 2, 1}, y:size())
    assert.equal(-math.huge, y:max():item())
    y:backward(cnn.ones({1, 2, 1}, "float64"))
    assert.equal(0, x.grad:abs():max():item())
    local x2 = cnn.randn({2, 3, 1, 1}, {dtype = "float64", requires_grad = true})
    F.max_pool2d(x2, 2, {padding = 2, dilation = 3}):sum():backward()
    assert.equal(0, x2.grad:abs():max():item())
  end)

  it("name their nodes after the function called (issue 16)", function()
    -- the nodes were "max_pool", "avg_pool" and "adaptive_avg_pool" for 1-D and 2-D alike
    local x = cnn.randn({2, 3, 8, 8}, {requires_grad = true})
    local l = cnn.randn({2, 3, 8}, {requires_grad = true})
    assert.equal("max_pool2d", F.max_pool2d(x, 2):grad_fn())
    assert.equal("max_pool2d", F.max_pool2d(x, 3, {padding = 1}):grad_fn())
    assert.equal("avg_pool2d", F.avg_pool2d(x, 2):grad_fn())
    assert.equal("adaptive_avg_pool2d", F.adaptive_avg_pool2d(x, 3):grad_fn())
    assert.equal("max_pool1d", F.max_pool1d(l, 2):grad_fn())
    assert.equal("avg_pool1d", F.avg_pool1d(l, 2):grad_fn())
    assert.equal("max_pool2d", cnn.nn.MaxPool2d(2)(x):grad_fn())
  end)

  it("leak nothing", function()
    H.no_leak(function()
      local x = cnn.randn({2, 3, 8, 8}, {requires_grad = true})
      F.max_pool2d(x, 2):sum():backward()
      F.avg_pool2d(x, 3, {padding = 1}):sum():backward()
      F.adaptive_avg_pool2d(x, {3, 3}):sum():backward()
      F.max_pool1d(x:view(2, 3, 64), 4):sum():backward()
      pcall(F.max_pool2d, x, 9)
    end)
  end)
end)

-- Reference pools written here as plain loops over nested tables (independent of the core):
-- PyTorch's windows for stride s, padding p, dilation 1, floor mode; the divisor of an average is
-- the padded window (count_include_pad) or the elements inside. Planes are (H x W) tables.
local function ref_windows(t, KH, KW, SH, SW, PH, PW)
  local Hn, Wn = #t, #t[1]
  local OH, OW = (Hn + 2 * PH - KH) // SH + 1, (Wn + 2 * PW - KW) // SW + 1
  local wins = {}
  for oh = 0, OH - 1 do
    wins[oh + 1] = {}
    for ow = 0, OW - 1 do
      local cells = {}
      for kh = 0, KH - 1 do
        for kw = 0, KW - 1 do
          local ih, iw = oh * SH - PH + kh, ow * SW - PW + kw
          if ih >= 0 and ih < Hn and iw >= 0 and iw < Wn then cells[#cells + 1] = { ih + 1, iw + 1 } end
        end
      end
      wins[oh + 1][ow + 1] = cells
    end
  end
  return wins, OH, OW
end
-- calls plane(t, wins, OH, OW, g, n, c) for every plane t = x[n][c] of a 4-D table, with its
-- windows (ref_windows(t, unpacked wargs)) and a zero gradient g to add into; plane returns the
-- pooled plane. Returns the pooled planes and the gradients as 4-D tables.
local function each_plane(x, wargs, plane)
  local y, dx = {}, {}
  for n = 1, #x do
    y[n], dx[n] = {}, {}
    for c = 1, #x[n] do
      local t = x[n][c]
      local wins, OH, OW = ref_windows(t, table.unpack(wargs))
      local g = {}
      for i = 1, #t do g[i] = {}; for j = 1, #t[1] do g[i][j] = 0 end end
      y[n][c] = plane(t, wins, OH, OW, g, n, c)
      dx[n][c] = g
    end
  end
  return y, dx
end
-- avg pool of every plane of a 4-D table x, and the gradient dx for the upstream gradient dy
local function ref_avg(x, dy, KH, KW, PH, PW, cip)
  return each_plane(x, {KH, KW, 1, 1, PH, PW}, function(t, wins, OH, OW, gp, n, c)
    local yp = {}
    for oh = 1, OH do
      yp[oh] = {}
      for ow = 1, OW do
        local cells, s = wins[oh][ow], 0
        local div = cip and KH * KW or #cells
        for _, e in ipairs(cells) do s = s + t[e[1]][e[2]] end
        yp[oh][ow] = s / div
        if dy then for _, e in ipairs(cells) do gp[e[1]][e[2]] = gp[e[1]][e[2]] + dy[n][c][oh][ow] / div end end
      end
    end
    return yp
  end)
end
-- max pool (3x3-style windows at any stride, no padding): the first maximum in scan order wins
local function ref_max(x, dy, K, S)
  return each_plane(x, {K, K, S, S, 0, 0}, function(t, wins, OH, OW, gp, n, c)
    local yp = {}
    for oh = 1, OH do
      yp[oh] = {}
      for ow = 1, OW do
        local best
        for _, e in ipairs(wins[oh][ow]) do if best == nil or t[e[1]][e[2]] > t[best[1]][best[2]] then best = e end end
        yp[oh][ow] = t[best[1]][best[2]]
        if dy then gp[best[1]][best[2]] = gp[best[1]][best[2]] + dy[n][c][oh][ow] end
      end
    end
    return yp
  end)
end

local function with_threads(T, fn)
  local was = cnn.get_num_threads()
  cnn.set_num_threads(T)
  local ok, err = pcall(fn)
  cnn.set_num_threads(was)
  assert(ok, err)
end

-- pool(x) forward and backward (upstream gradient dy) at 1 and 2 threads: the same bits both
-- ways; returns {[T] = {y, dx}}
local function same_at_1_and_2_threads(pool, x, dy)
  local got = {}
  for _, T in ipairs({1, 2}) do
    with_threads(T, function()
      local xt = x:clone():requires_grad(true)
      local y = pool(xt)
      y:backward(dy)
      got[T] = { y:detach(), xt.grad }
    end)
  end
  H.close(got[2][1], got[1][1], 0)
  H.close(got[2][2], got[1][2], 0)
  return got
end

describe("avg_pool2d at stride 1 (the separable path, issue 24)", function()
  -- {input shape, kernel {h, w}, padding {h, w}}: centred windows (the flat loops), uncentred and
  -- unpadded ones (the per-row loops), kernels larger than the plane, a 1x1 plane, even kernels
  local cases = {
    { {2, 3, 7, 5}, {3, 3}, {1, 1} }, { {1, 2, 6, 9}, {3, 2}, {1, 0} }, { {2, 2, 5, 4}, {5, 3}, {2, 1} },
    { {1, 1, 3, 4}, {5, 5}, {2, 2} }, { {1, 3, 1, 1}, {1, 1}, {0, 0} }, { {1, 1, 8, 8}, {3, 3}, {0, 0} },
    { {2, 1, 4, 7}, {2, 2}, {1, 1} }, { {1, 2, 9, 6}, {5, 5}, {2, 2} }, { {1, 1, 6, 3}, {1, 3}, {0, 1} },
  }
  it("matches a direct loop in values and gradient, counting padding or not, float64 and float32", function()
    for _, cs in ipairs(cases) do
      for _, cip in ipairs({true, false}) do
        local o = {stride = 1, padding = cs[3], count_include_pad = cip}
        local x = cnn.randn(cs[1], f64)
        local y = F.avg_pool2d(x, cs[2], o)
        local dy = cnn.randn(y:size(), "float64")
        y:backward(dy)
        local ry, rdx = ref_avg(x:detach():totable(), dy:totable(), cs[2][1], cs[2][2], cs[3][1], cs[3][2], cip)
        H.close(y:detach(), ry, 1e-12)
        H.close(x.grad, rdx, 1e-12)
        local x32 = x:detach():float():requires_grad(true)
        local y32 = F.avg_pool2d(x32, cs[2], o)
        y32:backward(dy:float())
        H.close(y32:detach(), ry, 1e-5)
        H.close(x32.grad, rdx, 1e-5)
      end
    end
  end)
  it("takes ceil_mode (a no-op at stride 1), unbatched and 1-D inputs", function()
    local x = cnn.randn({3, 4, 6}, f64)
    local y = F.avg_pool2d(x, 3, {stride = 1, padding = 1, ceil_mode = true, count_include_pad = false})
    local ry = ref_avg({x:detach():totable()}, nil, 3, 3, 1, 1, false)
    H.close(y:detach(), ry[1], 1e-12)
    local x1 = cnn.randn({2, 3, 9}, f64)
    H.close(F.avg_pool1d(x1, 3, {stride = 1, padding = 1, count_include_pad = false}),
            F.avg_pool2d(x1:unsqueeze(3), {1, 3}, {stride = 1, padding = {0, 1}, count_include_pad = false}):squeeze(3), 0)
    local r1 = ref_avg({x1:detach():totable()}, nil, 1, 3, 0, 1, false)
    H.close(F.avg_pool1d(x1, 3, {stride = 1, padding = 1, count_include_pad = false}), r1[1], 1e-12)
  end)
  it("gradchecks in float64", function()
    for _, cs in ipairs({ cases[1], cases[2], cases[4], cases[6] }) do
      for _, cip in ipairs({true, false}) do
        H.gradcheck(function(t) return F.avg_pool2d(t, cs[2], {stride = 1, padding = cs[3], count_include_pad = cip}) end,
          {cnn.randn(cs[1], f64)})
      end
    end
  end)
  it("gives the same bits on 2 threads as on 1 (a tensor large enough to be split), and the direct loop's values", function()
    local x = cnn.randn({2, 64, 32, 32})             -- 2^17 elements: the threaded size
    for _, cip in ipairs({true, false}) do
      local o = {stride = 1, padding = 1, count_include_pad = cip}
      local dy = cnn.randn({2, 64, 32, 32})
      local got = same_at_1_and_2_threads(function(xt) return F.avg_pool2d(xt, 3, o) end, x, dy)
      local xs = x:narrow(2, 40, 2):narrow(1, 2, 1)  -- two planes checked against the reference
      local ry, rdx = ref_avg(xs:double():totable(), dy:narrow(2, 40, 2):narrow(1, 2, 1):double():totable(), 3, 3, 1, 1, cip)
      H.close(got[2][1]:narrow(2, 40, 2):narrow(1, 2, 1), ry, 1e-5)
      H.close(got[2][2]:narrow(2, 40, 2):narrow(1, 2, 1), rdx, 1e-5)
    end
  end)
end)

describe("max_pool2d 3x3 stride 2 (inception's, threaded over planes, issue 24)", function()
  -- small integers: many ties, so the first-maximum rule is exercised
  local function ties(shape)
    return cnn.randint(0, 4, shape):double()
  end
  -- planes of up to 8192 elements take the flat loop over several planes, larger ones the row loop
  it("matches a direct loop: the first maximum's value and gradient, square and not, small and large planes", function()
    for _, shape in ipairs({ {2, 3, 9, 11}, {1, 2, 7, 7}, {1, 1, 3, 3}, {2, 2, 10, 8}, {1, 1, 91, 93} }) do
      for _, dt in ipairs({"float64", "float32"}) do
        local x = ties(shape):to(dt):requires_grad(true)
        local y = F.max_pool2d(x, 3, {stride = 2})
        local dy = cnn.randint(-8, 8, y:size()):double() / 4   -- sums of these are exact in float32
        y:backward(dy:to(dt))
        local ry, rdx = ref_max(x:detach():double():totable(), dy:totable(), 3, 2)
        H.close(y:detach(), ry, 0)
        H.close(x.grad, rdx, 0)
      end
    end
  end)
  it("lets a NaN win (the last NaN gets the gradient)", function()
    local nan = 0 / 0
    for _, dt in ipairs({"float32", "float64"}) do
      local v = {{{{1, nan, 5, 5, 0}, {nan, 0, 7, 5, 0}, {2, 2, -1, -1, 0}, {2, 3, -1, 9, 0}, {0, 0, 0, 0, 0}}}}
      local t = cnn.tensor(v, {dtype = dt, requires_grad = true})
      local y = F.max_pool2d(t, 3, {stride = 2})
      assert.is_true(y[1][1][1][1] ~= y[1][1][1][1])
      assert.equal(7, y[1][1][1][2]); assert.equal(3, y[1][1][2][1]); assert.equal(9, y[1][1][2][2])
      y:sum():backward()
      H.close(t.grad, {{{{0, 0, 0, 0, 0}, {1, 0, 1, 0, 0}, {0, 0, 0, 0, 0}, {0, 1, 0, 1, 0}, {0, 0, 0, 0, 0}}}}, 0)
    end
  end)
  it("gives the same bits on 2 threads as on 1, forward and backward, and the direct loop's", function()
    -- over 2^17 elements each (the threaded size): small planes (flat loop), large ones (row loop)
    for _, shape in ipairs({ {2, 64, 33, 31}, {2, 8, 95, 95} }) do
      local x = ties(shape):float()
      local dy = cnn.randint(-8, 8, {shape[1], shape[2], (shape[3] - 3) // 2 + 1, (shape[4] - 3) // 2 + 1}):float() / 4
      local got = same_at_1_and_2_threads(function(xt) return F.max_pool2d(xt, 3, {stride = 2}) end, x, dy)
      local c = shape[2] - 1
      local ry, rdx = ref_max(x:narrow(2, c, 2):narrow(1, 2, 1):double():totable(),
                              dy:narrow(2, c, 2):narrow(1, 2, 1):double():totable(), 3, 2)
      H.close(got[2][1]:narrow(2, c, 2):narrow(1, 2, 1), ry, 0)
      H.close(got[2][2]:narrow(2, c, 2):narrow(1, 2, 1), rdx, 0)
    end
  end)
end)
