-- bench/conv.lua: conv2d forward and forward+backward beside raw sgemm of the same GEMM shape
-- (the im2col GEMM of the whole batch, timed by cnn._sgemm_time), and a LeNet-style training
-- step at batch 64. PyTorch's twin: bench/conv_torch.py. Rows follow bench/lib.lua's protocol.
-- The training step is composed from matmul, relu and a log-softmax built from max/exp/log/sum,
-- with an in-place SGD update under cnn.no_grad (nn.Linear, cross_entropy and the optimizers are
-- separate work); its extra column gives live and peak tensor memory (cnn.memory()).
local cnn = require "cnn"
local F = cnn.F
local B = require "lib"

cnn.manual_seed(1)

local cases = {
  { name = "N64 1->32 28x28 k3 p1", N = 64, C = 1, OC = 32, H = 28, k = 3, s = 1, p = 1 },
  { name = "N64 32->64 14x14 k3 p1", N = 64, C = 32, OC = 64, H = 14, k = 3, s = 1, p = 1 },
  { name = "N8 64->128 56x56 k3 p1", N = 8, C = 64, OC = 128, H = 56, k = 3, s = 1, p = 1 },
  { name = "N4 3->64 224x224 k7 s2 p3", N = 4, C = 3, OC = 64, H = 224, k = 7, s = 2, p = 3 },
}

local only = os.getenv("CONV_CASE")
for i, c in ipairs(cases) do
  if not only or tonumber(only) == i then
    local OH = (c.H + 2 * c.p - c.k) // c.s + 1
    local M, Nn, K = c.OC, c.N * OH * OH, c.C * c.k * c.k
    local flops = 2 * M * Nn * K
    local x = cnn.randn({c.N, c.C, c.H, c.H}, {requires_grad = true})
    local w = (cnn.randn({c.OC, c.C, c.k, c.k}) * 0.1):requires_grad(true)
    local b = cnn.randn({c.OC}, {requires_grad = true})
    local o = {stride = c.s, padding = c.p}
    local reps = flops > 2e9 and 5 or 9
    local tg = cnn._sgemm_time(M, Nn, K, reps)
    local sg = string.format("sgemm %dx%dx%d %.1f GFLOP/s", M, Nn, K, flops / tg / 1e9)
    local tf = cnn.no_grad(function() return B.time(function() return F.conv2d(x, w, b, o) end, {reps = reps}) end)
    B.result("conv", c.name .. " fwd", tf, flops, string.format("%s; %.0f%% of sgemm", sg, 100 * tg / tf))
    local tb = B.time(function()
      x:zero_grad(); w:zero_grad(); b:zero_grad()
      F.conv2d(x, w, b, o):sum():backward()
    end, {reps = reps})
    B.result("conv", c.name .. " fwd+bwd", tb, 3 * flops, string.format("%.0f%% of 3 sgemm", 100 * 3 * tg / tb))
  end
end

-- LeNet-style step: conv(1->32,k3,p1) relu maxpool2, conv(32->64,k3,p1) relu maxpool2,
-- linear 3136->128 relu, linear 128->10, cross-entropy, backward, SGD
if not only or only == "lenet" then
  local Bn = 64
  local function param(shape, scale)
    return (cnn.randn(shape) * scale):requires_grad(true)
  end
  local P = {
    w1 = param({32, 1, 3, 3}, 0.3), b1 = param({32}, 0.01),
    w2 = param({64, 32, 3, 3}, 0.06), b2 = param({64}, 0.01),
    w3 = param({3136, 128}, 0.02), b3 = param({128}, 0.01),
    w4 = param({128, 10}, 0.1), b4 = param({10}, 0.01),
  }
  local order = {"w1", "b1", "w2", "b2", "w3", "b3", "w4", "b4"}
  local x = cnn.randn(Bn, 1, 28, 28)
  local labels = cnn.randint(0, 10, {Bn})
  local onehot = cnn.zeros(Bn, 10)
  for i = 1, Bn do onehot[i][math.tointeger(labels[i]) + 1] = 1 end
  local function step()
    local h = F.max_pool2d(F.conv2d(x, P.w1, P.b1, {padding = 1}):relu(), 2)
    h = F.max_pool2d(F.conv2d(h, P.w2, P.b2, {padding = 1}):relu(), 2)
    h = (h:view(Bn, 3136):matmul(P.w3) + P.b3):relu()
    local z = h:matmul(P.w4) + P.b4
    local m = z:detach():max(2, true)
    local zs = z - m
    local lsm = zs - zs:exp():sum(2, true):log()
    local loss = -(lsm * onehot):sum() / Bn
    loss:backward()
    cnn.no_grad(function()
      for _, k in ipairs(order) do
        local p = P[k]
        p:sub_(p.grad * 0.01)
        p:zero_grad()
      end
    end)
    return loss
  end
  step()
  collectgarbage(); collectgarbage()
  local live0 = cnn.memory()
  cnn.reset_peak_memory()
  local t = B.time(step, {reps = 9})
  collectgarbage(); collectgarbage()
  cnn.reset_peak_memory()
  local base = cnn.memory()
  step()
  local _, peak = cnn.memory()
  collectgarbage(); collectgarbage()
  -- activations a step must hold for backward, measured by one forward kept alive
  local keep = {}
  local h1 = F.conv2d(x, P.w1, P.b1, {padding = 1}):relu(); keep[#keep + 1] = h1
  local h2 = F.max_pool2d(h1, 2); keep[#keep + 1] = h2
  local h3 = F.conv2d(h2, P.w2, P.b2, {padding = 1}):relu(); keep[#keep + 1] = h3
  local h4 = F.max_pool2d(h3, 2); keep[#keep + 1] = h4
  local h5 = (h4:view(Bn, 3136):matmul(P.w3) + P.b3):relu(); keep[#keep + 1] = h5
  local live1 = cnn.memory()
  keep, h1, h2, h3, h4, h5 = nil
  B.result("conv", "LeNet train step b64 (SGD)", t, nil,
    string.format("live %.2f MB (params+data %.2f, +activations %.2f); peak %.2f MB = %.2fx live",
      live1 / 1e6, live0 / 1e6, (live1 - live0) / 1e6, peak / 1e6, peak / live1))
  assert(base == live0)
end
