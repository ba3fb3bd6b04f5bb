-- Inference fusion of conv -> batch norm -> ReLU (lua/cnn/nn/conv.lua, cnn._conv2d_affine):
-- the fused result equals the modules run one by one, and fusion happens only where nobody can
-- tell (eval mode, no gradients, no hooks).
local cnn = require "cnn"
local nn, F = cnn.nn, cnn.F
local H = require "helpers"

-- a batch norm with running statistics, weight and bias far from their defaults
local function trained_bn(n, dtype)
  local bn = nn.BatchNorm2d(n)
  if dtype == "float64" then bn:double() end
  bn.running_mean:copy_(cnn.randn({n}, dtype))
  bn.running_var:copy_(cnn.rand({n}, dtype) + 0.5)
  cnn.no_grad(function()
    bn.weight:copy_(cnn.randn({n}, dtype))
    bn.bias:copy_(cnn.randn({n}, dtype))
  end)
  return bn
end

-- counts the calls of cnn._conv2d_affine while fn runs
local function fused_calls(fn)
  local real, n = cnn._conv2d_affine, 0
  cnn._conv2d_affine = function(...) n = n + 1; return real(...) end
  local ok, err = pcall(fn)
  cnn._conv2d_affine = real
  assert(ok, err)
  return n
end

describe("conv -> batch norm -> ReLU fusion", function()
  it("cnn._conv2d_affine equals conv2d, the affine map and ReLU by hand, on every path", function()
    for _, dt in ipairs({"float64", "float32"}) do
      local x, w = cnn.randn({3, 16, 21, 20}, dt), cnn.randn({24, 16, 3, 3}, dt)
      local sc, sh = cnn.randn({24}, dt), cnn.randn({24}, dt)
      local tol = dt == "float64" and 1e-12 or 1e-4
      for _, algo in ipairs({"auto", "im2col", "winograd"}) do
        local was = cnn._conv_algo(algo)
        local y0 = F.conv2d(x, w, nil, {padding = 1})
        local ref = y0 * sc:view(1, 24, 1, 1) + sh:view(1, 24, 1, 1)
        H.close(cnn._conv2d_affine(x, w, sc, sh, true, {padding = 1}), ref:relu(), tol)
        H.close(cnn._conv2d_affine(x, w, sc, nil, false, {padding = 1}), y0 * sc:view(1, 24, 1, 1), tol)
        H.close(cnn._conv2d_affine(x, w, nil, sh, false, {padding = 1}), y0 + sh:view(1, 24, 1, 1), tol)
        H.close(cnn._conv2d_affine(x, w, nil, nil, true, {padding = 1}), y0:relu(), tol)
        cnn._conv_algo(was)
      end
      -- the direct path (3 input channels, 7x7 stride 2) and a strided 1x1
      local x3, w7 = cnn.randn({2, 3, 40, 40}, dt), cnn.randn({10, 3, 7, 7}, dt)
      local s10 = cnn.randn({10}, dt)
      H.close(cnn._conv2d_affine(x3, w7, s10, s10, true, {stride = 2, padding = 3}),
              (F.conv2d(x3, w7, nil, {stride = 2, padding = 3}) * s10:view(1, 10, 1, 1) + s10:view(1, 10, 1, 1)):relu(), tol)
      local w1 = cnn.randn({8, 16, 1, 1}, dt)
      H.close(cnn._conv2d_affine(x, w1, nil, s10:narrow(1, 1, 8), true, {stride = 2}),
              (F.conv2d(x, w1, nil, {stride = 2}) + s10:narrow(1, 1, 8):view(1, 8, 1, 1)):relu(), tol)
    end
  end)

  it("lets a NaN through its ReLU as the unfused ReLU does", function()
    -- ReLU(NaN) is NaN (PyTorch, cnn.relu): a fused eval must not turn a NaN input into zeros
    -- (NaN ~= NaN: y:ne(y) counts the NaNs)
    for _, algo in ipairs({"im2col", "winograd"}) do
      local was = cnn._conv_algo(algo)
      local x, w = cnn.randn({1, 8, 6, 6}, "float64"), cnn.randn({8, 8, 3, 3}, "float64")
      x[1][3][4][4] = 0 / 0
      local y = cnn._conv2d_affine(x, w, nil, nil, true, {padding = 1})
      local ref = F.conv2d(x, w, nil, {padding = 1}):relu()
      cnn._conv_algo(was)
      assert.equal(8 * 9, ref:ne(ref):sum():item())          -- the 3x3 window of every channel
      assert.equal(8 * 9, y:ne(y):sum():item())
    end
    local m = nn.Sequential({nn.Conv2d(4, 5, 3), trained_bn(5, "float32"), nn.ReLU()}):eval()
    local x = cnn.randn(1, 4, 5, 5)
    x[1][2][3][3] = 0 / 0
    local y = cnn.no_grad(function() return m(x) end)
    assert.equal(45, y:ne(y):sum():item())
  end)

  it("refuses what it cannot do", function()
    local x, w = cnn.randn(1, 4, 5, 5), cnn.randn(6, 4, 3, 3)
    H.errors(function() cnn._conv2d_affine(x, w, cnn.randn(5), nil, true) end, "argument 3 (scale): expected a 1-D float32 tensor of 6 elements, got float32 [5]")
    H.errors(function() cnn._conv2d_affine(x, w, nil, cnn.randn({6}, "float64"), true) end, "argument 4 (shift): expected a 1-D float32 tensor of 6 elements, got float64 [6]")
    H.errors(function() cnn._conv2d_affine(x, w, nil, nil, 1) end, "argument 5 (relu): expected a boolean, got number")
    H.errors(function() cnn._conv2d_affine(x:clone():requires_grad(true), w, nil, nil, true) end, "records no gradient")
  end)

  it("runs nn.Sequential's conv, batch norm, ReLU fused in eval mode without gradients, with the same result", function()
    for _, dt in ipairs({"float64", "float32"}) do
      cnn.manual_seed(3)
      local m = nn.Sequential{ nn.Conv2d(5, 12, 3, {padding = 1}), trained_bn(12, dt), nn.ReLU(),
                               nn.Conv2d(12, 7, 1, {bias = false}), trained_bn(7, dt),        -- no ReLU
                               nn.Conv2d(7, 9, 3, {stride = 2}), nn.ReLU(),                    -- no batch norm
                               nn.Flatten() }
      if dt == "float64" then m:double() end
      m:eval()
      local x = cnn.randn({4, 5, 11, 11}, dt)
      local ref = m(x)                              -- gradients on: one module after another
      local y
      assert.are.equal(3, fused_calls(function() y = cnn.no_grad(function() return m(x) end) end))
      H.close(y, ref, dt == "float64" and 1e-11 or 1e-4 * ref:abs():max():item())
      -- training mode: batch norm takes the batch's statistics and runs by itself; conv -> ReLU
      -- (no batch norm) is the same in both modes and still fused
      m:train()
      assert.are.equal(1, fused_calls(function() cnn.no_grad(function() return m(x) end) end))
    end
  end)

  it("leaves modules with hooks, subclasses and string padding alone", function()
    local conv, bn = nn.Conv2d(3, 4, 3, {padding = 1}), trained_bn(4, "float32")
    local m = nn.Sequential{ conv, bn, nn.ReLU() }
    m:eval()
    local x = cnn.randn(2, 3, 6, 6)
    local seen = 0
    local h = bn:register_forward_hook(function() seen = seen + 1 end)
    assert.are.equal(0, fused_calls(function() cnn.no_grad(function() return m(x) end) end))
    assert.are.equal(1, seen)
    h:remove()
    assert.are.equal(1, fused_calls(function() cnn.no_grad(function() return m(x) end) end))
    -- an unbatched (C,H,W) image: batch norm refuses its output unfused, so fused too
    local ok = pcall(function() return cnn.no_grad(function() return m(cnn.randn(3, 6, 6)) end) end)
    assert.is_false(ok)
    local cr = nn.Sequential{ nn.Conv2d(3, 4, 3), nn.ReLU() }        -- no batch norm: unbatched is fine
    assert.are.equal(1, fused_calls(function() cnn.no_grad(function() return cr(cnn.randn(3, 6, 6)) end) end))
    local same = nn.Sequential{ nn.Conv2d(3, 4, 3, {padding = "same"}), bn }
    same:eval()
    assert.are.equal(0, fused_calls(function() cnn.no_grad(function() return same(x) end) end))
  end)

  it("gives the model zoo's eval-mode outputs unchanged (resnet18, inception blocks)", function()
    cnn.manual_seed(5)
    local r = cnn.models.resnet18({ width = 0.25, num_classes = 7 })
    for _, mod in ipairs(r:modules()) do
      if getmetatable(mod) == nn.BatchNorm2d then
        mod.running_mean:copy_(cnn.randn(mod.num_features) * 0.1)
        mod.running_var:copy_(cnn.rand(mod.num_features) + 0.5)
      end
    end
    r:eval()
    local x = cnn.randn(2, 3, 64, 64)
    local ref = r(x)
    local y
    assert.is_true(fused_calls(function() y = cnn.no_grad(function() return r(x) end) end) >= 17)
    H.close(y, ref, 1e-4 * ref:abs():max():item())
    -- gradients for a saliency map still flow: with grad on, nothing is fused
    local xi = x:clone():requires_grad(true)
    assert.are.equal(0, fused_calls(function() r(xi):sum():backward() end))
    assert.is_truthy(xi.grad)
  end)
end)
