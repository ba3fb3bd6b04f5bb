local cnn = require "cnn"
local F = cnn.F
local H = require "helpers"
local nn = cnn.nn

local f64 = {dtype = "float64", requires_grad = true}

describe("conv2d", function()
  it("computes a hand-checked 3x3 box sum, with bias, stride and padding", function()
    local x = cnn.arange(1, 17):view(1, 1, 4, 4)
    local w = cnn.ones(1, 1, 3, 3)
    H.close(F.conv2d(x, w), {{{{54, 63}, {90, 99}}}}, 0)
    -- padding 1, stride 2: corner windows see 1+2+5+6 = 14
    H.close(F.conv2d(x, w, cnn.tensor({10}), {padding = 1, stride = 2}), {{{{24, 40}, {67, 109}}}}, 0)
    -- dilation 2 on a 5x5 input: the corners and the centre of each 5x5 window
    local x5 = cnn.arange(1, 26):view(1, 1, 5, 5)
    H.close(F.conv2d(x5, w, nil, {dilation = 2}), {{{{117}}}}, 0)
  end)

  it("accepts {h,w} pairs and unbatched (C,H,W) input", function()
    local x = cnn.randn(2, 7, 6, "float64")
    local w = cnn.randn(4, 2, 3, 2, "float64")
    local y = F.conv2d(x, w, nil, {stride = {2, 1}, padding = {1, 0}, dilation = {1, 2}})
    assert.same({4, 4, 4}, y:size())
    local yb = F.conv2d(x:unsqueeze(1), w, nil, {stride = {2, 1}, padding = {1, 0}, dilation = {1, 2}})
    H.close(y, yb:squeeze(1), 0)
  end)

  it("groups equal separate convolutions over channel blocks", function()
    local x = cnn.randn(2, 4, 5, 5, "float64")
    local w = cnn.randn(6, 2, 3, 3, "float64")
    local y = F.conv2d(x, w, nil, {groups = 2})
    local y1 = F.conv2d(x:narrow(2, 1, 2), w:narrow(1, 1, 3))
    local y2 = F.conv2d(x:narrow(2, 3, 2), w:narrow(1, 4, 3))
    H.close(y, cnn.cat({y1, y2}, 2), 1e-12)
  end)

  it("shares a slice between threads (fewer slices than threads) as one thread computes it", function()
    -- at 2 threads a batch lowered into fewer slices than threads is split by channels and by
    -- the GEMMs' rows (im2col's split mode); 1 thread takes the per-slice path: the two must agree
    local cases = {
      {N = 1, C = 3, OC = 40, H = 6, o = {padding = 1}},                 -- one image, 16 + 16 + 8 rows
      {N = 3, C = 20, OC = 36, H = 7, o = {padding = 1}},                -- three 7x7 images in one slice
      {N = 5, C = 8, OC = 24, H = 4, k = 1, o = {stride = 2}},           -- 1x1 stride 2, small images
      {N = 3, C = 5, OC = 17, H = 9, k = 3, o = {stride = 2, padding = 1, dilation = 2}},
      {N = 1, C = 6, OC = 20, H = 5, k = 1, o = {}},                     -- 1x1: x is col, dx is dcol
      {N = 4, C = 3, OC = 5, H = 16, k = 1, o = {}},                     -- the same, one image per slice
      {N = 3, C = 2, OC = 3, H = 16, k = 1, o = {}},                     -- ... three slices, shared
    }
    local was = cnn.get_num_threads()
    for _, c in ipairs(cases) do
      local x = cnn.randn(c.N, c.C, c.H, c.H, f64)
      local w = cnn.randn(c.OC, c.C, c.k or 3, c.k or 3, f64)
      local b = cnn.randn(c.OC, f64)
      local function run(threads)
        cnn.set_num_threads(threads)
        x.grad, w.grad, b.grad = nil, nil, nil
        local y = F.conv2d(x, w, b, c.o)
        local loss = (y * y):sum()
        loss:backward()
        cnn.set_num_threads(was)
        return y, x.grad, w.grad, b.grad
      end
      local one, two = {run(1)}, {run(2)}
      for i = 1, 4 do H.close(two[i], one[i], 1e-10 * (1 + one[i]:abs():max():item())) end
      cnn.set_num_threads(2)
      H.gradcheck(function(x_, w_, b_) return F.conv2d(x_, w_, b_, c.o) end, {x, w, b})
      cnn.set_num_threads(was)
    end
  end)

  it("lowers a batch the same whether or not it fits one slice", function()
    -- the batch is lowered in slices; each image must equal its own convolution
    local x = cnn.randn(5, 3, 9, 9, "float64")
    local w = cnn.randn(4, 3, 3, 3, "float64")
    local b = cnn.randn(4, "float64")
    local y = F.conv2d(x, w, b, {padding = 1})
    for i = 1, 5 do H.close(y:narrow(1, i, 1), F.conv2d(x:narrow(1, i, 1), w, b, {padding = 1}), 1e-12) end
  end)

  it("gives the bias gradient of a convolution without input channels at any thread count", function()
    -- C = 0: y is the bias alone, so db = the number of output pixels (3x3 here) per image; at
    -- 2 threads one image takes im2col's split mode, which once returned before summing db
    local was = cnn.get_num_threads()
    finally(function() cnn.set_num_threads(was) end)
    for _, threads in ipairs({1, 2}) do
      cnn.set_num_threads(threads)
      local x, w = cnn.randn({1, 0, 5, 5}, f64), cnn.randn({4, 0, 3, 3}, f64)
      local b = cnn.randn({4}, f64)
      local y = F.conv2d(x, w, b)
      H.close(y, b:detach():view(1, 4, 1, 1):expand(1, 4, 3, 3), 0)
      y:sum():backward()
      H.close(b.grad, {9, 9, 9, 9}, 0)
      assert.same({4, 0, 3, 3}, w.grad:size())
    end
  end)

  it("gradchecks input, weight and bias for each option", function()
    local cases = {
      {{2, 3, 5, 4}, {2, 3, 3, 2}, {}},
      {{1, 2, 6, 5}, {3, 2, 3, 3}, {stride = 2, padding = 1}},
      {{1, 2, 7, 6}, {2, 2, 2, 3}, {stride = {2, 1}, padding = {0, 2}, dilation = {2, 1}}},
      {{2, 4, 4, 4}, {4, 2, 3, 3}, {groups = 2, padding = 1}},
      {{1, 3, 5, 5}, {3, 1, 3, 3}, {groups = 3, dilation = 2, padding = 2}},
      {{2, 3, 3, 3}, {2, 3, 1, 1}, {}},
    }
    for _, c in ipairs(cases) do
      local x, w, b = cnn.randn(c[1], f64), cnn.randn(c[2], f64), cnn.randn({c[2][1]}, f64)
      H.gradcheck(function(x_, w_, b_) return F.conv2d(x_, w_, b_, c[3]) end, {x, w, b})
      H.gradcheck(function(x_, w_) return F.conv2d(x_, w_, nil, c[3]) end, {x, w})
    end
  end)

  it("gradchecks unbatched input and a non-contiguous input", function()
    H.gradcheck(function(x, w) return F.conv2d(x, w, nil, {padding = 1}) end,
      {cnn.randn({2, 4, 3}, f64), cnn.randn({3, 2, 3, 3}, f64)})
    H.gradcheck(function(x, w) return F.conv2d(x:transpose(3, 4), w) end,
      {cnn.randn({1, 2, 5, 4}, f64), cnn.randn({2, 2, 2, 2}, f64)})
  end)

  it("takes the Winograd path (3x3, stride 1, >= 8 channels) with the im2col path's values", function()
    -- the same convolution as a 5x5 kernel with a zero border and one more padding goes
    -- through im2col; outputs and gradients must agree, with any subset of inputs wanting grad.
    -- Winograd is forced on these small images (by itself it takes batches of 400 2x2 output tiles up).
    local was = cnn._conv_algo("winograd")
    finally(function() cnn._conv_algo(was) end)
    for _, c in ipairs({{2, 9, 8, 7, 10, 1}, {1, 8, 12, 5, 5, 0}, {3, 16, 8, 9, 4, 2}, {1, 8, 8, 1, 1, 1}}) do
      local N, C, OC, Hh, Ww, p = table.unpack(c)
      for _, dt in ipairs({"float64", "float32"}) do
        local tol = dt == "float64" and 1e-10 or 2e-4
        for _, want in ipairs({{true, true, true}, {true, false, false}, {false, true, false}, {false, false, true}}) do
          local x0, w0, b0 = cnn.randn({N, C, Hh, Ww}, dt), cnn.randn({OC, C, 3, 3}, dt), cnn.randn({OC}, dt)
          local x, w, b = x0:clone():requires_grad(want[1]), w0:clone():requires_grad(want[2]), b0:clone():requires_grad(want[3])
          local x5, w5 = x0:clone():requires_grad(want[1]), F.pad(w0, {1, 1, 1, 1}):requires_grad(want[2])
          local b5 = b0:clone():requires_grad(want[3])
          local y, y5 = F.conv2d(x, w, b, {padding = p}), F.conv2d(x5, w5, b5, {padding = p + 1})
          H.close(y, y5, tol * 10)
          local g = cnn.randn(y:size(), dt)
          y:backward(g); y5:backward(g)
          if want[1] then H.close(x.grad, x5.grad, tol * 10) end
          if want[2] then H.close(w.grad, w5.grad:narrow(3, 2, 3):narrow(4, 2, 3), tol * 100) end
          if want[3] then H.close(b.grad, b5.grad, tol * 100) end
        end
      end
    end
  end)

  it("shares one image's Winograd forward between threads, blocks of tile rows spanning images", function()
    -- forward blocks of tile rows go to the threads (backward: runs of whole images); a batch of
    -- one image uses both threads, and a block may hold the end of one image and the start of
    -- the next. Against im2col (another path) and against 1 thread.
    local was_t = cnn.get_num_threads()
    finally(function() cnn.set_num_threads(was_t); cnn._conv_algo("auto") end)
    for _, c in ipairs({{1, 8, 12, 40, 40}, {3, 9, 8, 34, 34}, {2, 8, 16, 21, 37}}) do
      local N, C, OC, Hh, Ww = table.unpack(c)
      local x, w, b = cnn.randn({N, C, Hh, Ww}, "float64"), cnn.randn({OC, C, 3, 3}, "float64"), cnn.randn({OC}, "float64")
      cnn._conv_algo("im2col")
      local ref = F.conv2d(x, w, b, {padding = 1})
      cnn._conv_algo("winograd")
      cnn.set_num_threads(2)
      local y2 = F.conv2d(x, w, b, {padding = 1})
      cnn.set_num_threads(1)
      local y1 = F.conv2d(x, w, b, {padding = 1})
      H.close(y2, ref, 1e-10)
      assert.are.equal(0, H.maxdiff(y1, y2))
    end
  end)

  it("takes the direct path (>= 16 output columns, 27..256 weights per channel) with the im2col path's values", function()
    -- on AVX-512 machines these shapes run the direct kernel; the same convolution with zero
    -- input channels added up to more than 256 weights per channel goes through im2col
    local cases = {
      {{2, 3, 11, 40}, {10, 3, 7, 7}, {stride = 2, padding = 3}},
      {{1, 3, 6, 45}, {9, 3, 3, 3}, {stride = {1, 3}, padding = {1, 3}, dilation = 2}},
      {{3, 2, 4, 17}, {3, 2, 3, 5}, {padding = {1, 2}}},
      {{1, 4, 3, 130}, {17, 4, 3, 5}, {padding = {0, 2}, stride = {1, 1}}},
    }
    for _, c in ipairs(cases) do
      for _, dt in ipairs({"float64", "float32"}) do
        local x, w, b = cnn.randn(c[1], dt), cnn.randn(c[2], dt), cnn.randn({c[2][1]}, dt)
        local y = F.conv2d(x, w, b, c[3])
        local N, C, Hh, Ww = table.unpack(c[1])
        local z = math.ceil(257 / (c[2][3] * c[2][4]))
        local xz = cnn.cat({x, cnn.zeros({N, z, Hh, Ww}, dt)}, 2)
        local wz = cnn.cat({w, cnn.zeros({c[2][1], z, c[2][3], c[2][4]}, dt)}, 2)
        H.close(y, F.conv2d(xz, wz, b, c[3]), dt == "float64" and 1e-12 or 1e-4)
      end
    end
    -- threads take whole images (1 thread; 2 images on 2) or share the rows of passes of
    -- re-laid images (1 image on 2 threads; 5 images of 2-4 MB on 4 threads: 3 or 2 passes);
    -- each output sums in the same order either way
    local n0 = cnn.get_num_threads()
    for _, c in ipairs({{1, 2}, {2, 2}, {5, 4}}) do
      for _, dt in ipairs({"float64", "float32"}) do
        local x, w, b = cnn.randn({c[1], 3, 400, 400}, dt), cnn.randn({4, 3, 3, 3}, dt), cnn.randn({4}, dt)
        cnn.set_num_threads(1)
        local y1 = F.conv2d(x, w, b, {padding = 1})
        cnn.set_num_threads(c[2])
        local yt = F.conv2d(x, w, b, {padding = 1})
        cnn.set_num_threads(n0)
        H.close(yt, y1, 0)
      end
    end
    -- absurd strides and padding: the re-laid image's size would overflow int64; every window
    -- falls in the padding (7.5 strides from the edge), so the output is zeros
    local x, w = cnn.randn({1, 27, 7, 1}), cnn.randn({8, 27, 1, 1})
    for _, o in ipairs({{stride = {1, 463608647355134560}, padding = {0, 3477064855163509200}},
                        {stride = {1, 1 << 26}, padding = {0, 503316480}}}) do
      local y = F.conv2d(x, w, nil, o)
      assert.same({1, 8, 7, 16}, y:size())
      assert.equal(0, y:abs():max():item())
    end
    -- forward by the direct kernel, backward by im2col: the gradients must be the forward's
    H.gradcheck(function(x, w, b) return F.conv2d(x, w, b, {stride = 2, padding = 3}) end,
      {cnn.randn({2, 2, 5, 33}, f64), cnn.randn({9, 2, 7, 7}, f64), cnn.randn({9}, f64)})
    H.gradcheck(function(x, w) return F.conv1d(x, w, nil, {padding = 4}) end,
      {cnn.randn({2, 4, 20}, f64), cnn.randn({3, 4, 9}, f64)})
  end)

  it("gives bit-identical gradients run to run at 2 threads (issue 16)", function()
    -- per-thread partial sums of dw and db once depended on which thread took which images
    -- (taken as they came): a 16->8 3x3 weight gradient differed by ~2e-8 from run to run
    local n0 = cnn.get_num_threads()
    cnn.set_num_threads(2)
    local cases = {
      {{8, 16, 20, 20}, {8, 16, 3, 3}, {padding = 1}},                 -- Winograd
      {{8, 16, 20, 20}, {16, 4, 3, 3}, {padding = 1, groups = 4}},     -- grouped, im2col
      {{9, 3, 20, 20}, {8, 3, 3, 3}, {padding = 1, stride = 2}},       -- im2col, slices
    }
    local ok, err = pcall(function()
      for _, c in ipairs(cases) do
        for _, dt in ipairs({"float32", "float64"}) do
          local x = cnn.randn(c[1], {dtype = dt, requires_grad = true})
          local w = cnn.randn(c[2], {dtype = dt, requires_grad = true})
          local b = cnn.randn({c[2][1]}, {dtype = dt, requires_grad = true})
          local dy = cnn.randn(F.conv2d(x, w, b, c[3]):size(), dt)
          local ref
          for _ = 1, 6 do
            x.grad, w.grad, b.grad = nil, nil, nil
            F.conv2d(x, w, b, c[3]):backward(dy)
            if ref then
              assert.equal(0, H.maxdiff(w.grad, ref[1]))
              assert.equal(0, H.maxdiff(b.grad, ref[2]))
              assert.equal(0, H.maxdiff(x.grad, ref[3]))
            else
              ref = {w.grad:clone(), b.grad:clone(), x.grad:clone()}
            end
          end
        end
      end
    end)
    cnn.set_num_threads(n0)
    assert(ok, err)
  end)

  it("float32 agrees with float64", function()
    local x, w, b = cnn.randn(3, 4, 8, 7, "float64"), cnn.randn(6, 2, 3, 3, "float64"), cnn.randn(6, "float64")
    local o = {stride = 2, padding = 1, groups = 2}
    local y64 = F.conv2d(x, w, b, o)
    local y32 = F.conv2d(x:float(), w:float(), b:float(), o)
    assert.equal("float32", y32:dtype())
    H.close(y32, y64, 1e-4)
  end)

  it("raises exact messages", function()
    local x = cnn.randn(2, 3, 8, 8)
    H.errors(function() F.conv2d(x, cnn.randn(16, 3, 5)) end,
      "cnn.conv2d: argument 2 (weight): expected a 4-D tensor, got float32 [16,3,5]")
    H.errors(function() F.conv2d(cnn.randn(3, 8), cnn.randn(4, 3, 3, 3)) end,
      "cnn.conv2d: argument 1 (input): expected a 3-D (C,H,W) or 4-D (N,C,H,W) tensor, got float32 [3,8]")
    H.errors(function() F.conv2d("x", cnn.randn(4, 3, 3, 3)) end,
      "cnn.conv2d: argument 1 (input): expected a tensor, got string")
    H.errors(function() F.conv2d(x, cnn.randn(16, 4, 5, 5)) end,
      "cnn.conv2d: input float32 [2,3,8,8] has 3 channels, but weight [16,4,5,5] with groups=1 expects 4")
    H.errors(function() F.conv2d(x, cnn.randn(4, 1, 3, 3), nil, {groups = 2}) end,
      "cnn.conv2d: groups=2 does not divide the 3 input channels of input float32 [2,3,8,8]")
    H.errors(function() F.conv2d(cnn.randn(1, 4, 8, 8), cnn.randn(3, 2, 3, 3), nil, {groups = 2}) end,
      "cnn.conv2d: groups=2 does not divide the 3 output channels of weight float32 [3,2,3,3]")
    H.errors(function() F.conv2d(cnn.randn(1, 3, 2, 2), cnn.randn(4, 3, 3, 3)) end,
      "cnn.conv2d: output size is too small: input [1,3,2,2] with kernel 3x3, padding 0x0 and dilation 1x1 gives 0x0")
    H.errors(function() F.conv2d(x, cnn.randn(4, 3, 3, 3, "float64")) end,
      "cnn.conv2d: argument 2 (weight): expected float32 like the input, got float64 [4,3,3,3]")
    H.errors(function() F.conv2d(x, cnn.randn(4, 3, 3, 3), cnn.randn(5)) end,
      "cnn.conv2d: argument 3 (bias): expected a 1-D tensor of 4 elements (weight [4,3,3,3]), got float32 [5]")
    H.errors(function() F.conv2d(x, cnn.randn(4, 3, 3, 3), cnn.randn(4, "float64")) end,
      "cnn.conv2d: argument 3 (bias): expected float32 like the input, got float64 [4]")
    H.errors(function() F.conv2d(x, cnn.randn(4, 3, 3, 3), {stride = 2}) end,
      "cnn.conv2d: argument 3 (bias): expected a tensor or nil, got table")
    H.errors(function() F.conv2d(x, cnn.randn(4, 3, 3, 3), nil, {strides = 2}) end,
      "cnn.conv2d: argument 4 (options): unknown option 'strides' (expected stride, padding, dilation, groups)")
    H.errors(function() F.conv2d(x, cnn.randn(4, 3, 3, 3), nil, {stride = 1.5}) end,
      "cnn.conv2d: argument 4 (options): stride must be an integer or a {h,w} pair of integers, got 1.5")
    H.errors(function() F.conv2d(x, cnn.randn(4, 3, 3, 3), nil, {stride = {1, 0}}) end,
      "cnn.conv2d: argument 4 (options): stride must be >= 1, got 1x0")
    H.errors(function() F.conv2d(x, cnn.randn(4, 3, 3, 3), nil, {padding = -1}) end,
      "cnn.conv2d: argument 4 (options): padding must be >= 0, got -1x-1")
    H.errors(function() F.conv2d(x, cnn.randn(4, 3, 3, 3), nil, {dilation = 0}) end,
      "cnn.conv2d: argument 4 (options): dilation must be >= 1, got 0x0")
    H.errors(function() F.conv2d(x, cnn.randn(4, 3, 3, 3), nil, {groups = 0}) end,
      "cnn.conv2d: argument 4 (options): groups must be >= 1, got 0")
    H.errors(function() F.conv2d(x, cnn.randn(4, 3, 3, 3), nil, {groups = {1, 1}}) end,
      "cnn.conv2d: argument 4 (options): groups must be an integer, got table")
    H.errors(function() F.conv2d(x, cnn.randn(4, 3, 3, 3), nil, 3) end,
      "cnn.conv2d: argument 4 (options): expected an options table, got number")
  end)

  it("refuses geometry whose sizes overflow, naming the option (issue 16)", function()
    -- padding 2^31-3 died of SIGFPE (OH*OW overflowed before a division), 2^40 was undefined
    -- behaviour; stride, padding and dilation are any int64, every size made from them is checked
    local x, w = cnn.randn(2, 3, 8, 8), cnn.randn(4, 3, 3, 3)
    H.errors(function() F.conv2d(x, w, nil, {padding = 2 ^ 31 - 3}) end,
      "cnn.conv2d: output [2,4,4294967296,4294967296] is too large (the element count overflows): input [2,3,8,8] " ..
      "with kernel 3x3, stride 1x1, padding 2147483645x2147483645 and dilation 1x1")
    H.errors(function() F.conv2d(x, w, nil, {padding = 2 ^ 40}) end,
      "cnn.conv2d: output [2,4,2199023255558,2199023255558] is too large (the element count overflows)")
    H.errors(function() F.conv2d(x[1], w, nil, {padding = 2 ^ 40}) end,
      "cnn.conv2d: output [4,2199023255558,2199023255558] is too large (the element count overflows)")
    H.errors(function() F.conv2d(x, w, nil, {padding = 2 ^ 62}) end,
      "cnn.conv2d: argument 4 (options): padding 4611686018427387904x4611686018427387904 is too large for " ..
      "input [2,3,8,8] (the padded size overflows)")
    H.errors(function() F.conv2d(x, w, nil, {padding = {0, math.maxinteger}}) end,
      "cnn.conv2d: argument 4 (options): padding 0x9223372036854775807 is too large")
    H.errors(function() F.conv2d(x, w, nil, {dilation = 2 ^ 62}) end,
      "cnn.conv2d: argument 4 (options): dilation 4611686018427387904x4611686018427387904 is too large for " ..
      "kernel 3x3 (the dilated kernel's size overflows)")
    H.errors(function() F.conv2d(x, w, nil, {padding = 2 ^ 20}) end,
      "cnn.conv2d: convolution too large for BLAS (input [2,3,8,8], weight [4,3,3,3])")
    -- huge strides are fine: one window, in the padding
    local y = F.conv2d(x, w, nil, {stride = math.maxinteger, padding = 2 ^ 61})
    assert.same({2, 4, 1, 1}, y:size())
    assert.equal(0, y:abs():max():item())
  end)

  it("handles empty batches", function()
    local y = F.conv2d(cnn.randn(0, 3, 5, 5), cnn.randn(2, 3, 3, 3))
    assert.same({0, 2, 3, 3}, y:size())
  end)

  it("leaks nothing through forward and backward", function()
    H.no_leak(function()
      local x, w, b = cnn.randn({2, 3, 6, 6}, {requires_grad = true}), cnn.randn({4, 3, 3, 3}, {requires_grad = true}),
        cnn.randn({4}, {requires_grad = true})
      F.conv2d(x, w, b, {padding = 1}):sum():backward()
      F.conv2d(x:double(), w:double(), nil, {stride = 2}):relu():sum():backward()
      pcall(F.conv2d, x, cnn.randn(4, 2, 3, 3))
    end)
  end)
end)

describe("conv2d padding \"same\" and \"valid\"", function()
  it("pads d*(k-1) in all, the odd zero on the bottom / right, as PyTorch", function()
    -- a kernel that picks its top-left tap shows where the window starts: out[i][j] = x[i-top][j-left]
    local x = cnn.arange(1, 31):view(1, 1, 5, 6)
    local w = cnn.zeros(1, 1, 2, 4); w[1][1][1][1] = 1
    -- kernel 2x4: totals 1 and 3 -> top 0 (bottom 1), left 1 (right 2)
    local y = F.conv2d(x, w, nil, {padding = "same"})
    assert.are.same({1, 1, 5, 6}, y:size())
    local want = {}
    for i = 1, 5 do
      want[i] = {}
      for j = 1, 6 do want[i][j] = j - 1 >= 1 and (i - 1) * 6 + (j - 1) or 0 end
    end
    H.close(y, {{want}}, 0)
    -- dilation 3 with kernel 2: total 3 -> top 1, bottom 2
    local w2 = cnn.zeros(1, 1, 2, 1); w2[1][1][1][1] = 1
    local y2 = F.conv2d(x, w2, nil, {padding = "same", dilation = {3, 1}})
    H.close(y2:narrow(3, 2, 4), x:narrow(3, 1, 4), 0)
    H.close(y2:narrow(3, 1, 1), cnn.zeros(1, 1, 1, 6), 0)
  end)

  it("equals an explicit pad then an unpadded conv, and gradchecks", function()
    cnn.manual_seed(21)
    local x, w, b = cnn.randn({2, 4, 5, 6}, f64), cnn.randn({6, 2, 2, 3}, f64), cnn.randn({6}, f64)
    local o = {padding = "same", dilation = {3, 2}, groups = 2}
    -- H: 3*(2-1) = 3 -> 1 top, 2 bottom; W: 2*(3-1) = 4 -> 2 and 2
    local ref = F.conv2d(F.pad(x, {2, 2, 1, 2}), w, b, {dilation = {3, 2}, groups = 2})
    H.close(F.conv2d(x, w, b, o), ref, 1e-12)
    H.gradcheck(function(a, ww, bb) return F.conv2d(a, ww, bb, o) end, {x, w, b})
    H.gradcheck(function(a, ww) return F.conv2d(a, ww, nil, {padding = "same"}) end,
      {cnn.randn({1, 2, 4, 3}, f64), cnn.randn({3, 2, 4, 2}, f64)})
    -- unbatched input; "valid" is padding 0
    local xu = cnn.randn({3, 6, 7}, "float64")
    local wu = cnn.randn({2, 3, 3, 4}, "float64")
    assert.are.same({2, 6, 7}, F.conv2d(xu, wu, nil, {padding = "same"}):size())
    H.close(F.conv2d(xu, wu, nil, {padding = "valid"}), F.conv2d(xu, wu), 0)
  end)

  it("nn.Conv2d keeps the string and passes it on", function()
    local m = nn.Conv2d(3, 4, {2, 3}, {padding = "same"})
    assert.are.equal("same", m.padding)
    local x = cnn.randn(2, 3, 5, 5)
    assert.are.same({2, 4, 5, 5}, m(x):size())
    assert.are.same({2, 4, 4, 3}, nn.Conv2d(3, 4, {2, 3}, {padding = "valid"})(x):size())
    H.errors(function() nn.Conv2d(3, 4, 3, {padding = "same", stride = 2}) end,
      'cnn.nn.Conv2d: argument 4 (stride): expected stride 1 with padding "same" (as PyTorch), got 2')
  end)

  it("raises on a strided \"same\" and an unknown string", function()
    local x, w = cnn.randn(1, 2, 5, 5), cnn.randn(3, 2, 3, 3)
    H.errors(function() F.conv2d(x, w, nil, {padding = "same", stride = {1, 2}}) end,
      'cnn.conv2d: argument 4 (options): padding "same" needs stride 1 (as PyTorch), got stride 2')
    H.errors(function() F.conv2d(x, w, nil, {padding = "full"}) end,
      'cnn.conv2d: argument 4 (options): padding must be an integer, a {h,w} pair, "same" or "valid", got "full"')
    H.errors(function() F.conv2d(x, cnn.randn(3, 2, 3), nil, {padding = "same"}) end,
      "cnn.conv2d: argument 2 (weight): expected a 4-D tensor, got float32 [3,2,3]")
    H.errors(function() F.conv2d(x, w, nil, {padding = "same", dilation = 2^62}) end, "cnn.conv2d: ")
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local x = cnn.randn({1, 2, 5, 5}, {requires_grad = true})
      local w = cnn.randn({3, 2, 2, 2}, {requires_grad = true})
      F.conv2d(x, w, nil, {padding = "same"}):sum():backward()
      pcall(F.conv2d, x, w, nil, {padding = "same", stride = 2})
      x, w = nil, nil
    end)
  end)
end)
