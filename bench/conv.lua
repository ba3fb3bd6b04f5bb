-- bench/conv.lua: conv2d forward and forward+backward beside raw sgemm of the same GEMM shape
-- (the im2col GEMM of the whole batch, timed by cnn._bench.sgemm_time), and a LeNet-style training
-- step at batch 64. PyTorch's twin: bench/conv_torch.py. Rows follow bench/lib.lua's protocol.
-- The training step uses nn.Sequential, F.cross_entropy and optim.SGD like PyTorch's; its extra
-- column gives live and peak tensor memory (cnn.memory()).
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
    local tg = cnn._bench.sgemm_time(M, Nn, K, reps)
    B.sleep(0.3)   -- OpenBLAS's threads spin ~0.1 s after their last job (lua_conv.c): let them rest
    local sg = string.format("sgemm %dx%dx%d %.1f GFLOP/s", M, Nn, K, flops / tg / 1e9)
    local tf = cnn.no_grad(function() return B.time(function() return F.conv2d(x, w, b, o) end, {reps = reps}) end)
    B.result("conv", c.name .. " fwd", tf, flops, string.format("%s; %.0f%% of sgemm", sg, 100 * tg / tf))
    local tb = B.time(function()
      x.grad, w.grad, b.grad = nil, nil, nil          -- as PyTorch's side: x.grad = w.grad = b.grad = None
      F.conv2d(x, w, b, o):sum():backward()
    end, {reps = reps})
    B.result("conv", c.name .. " fwd+bwd", tb, 3 * flops, string.format("%.0f%% of 3 sgemm", 100 * 3 * tg / tb))
  end
end

-- LeNet-style step, built as PyTorch's side is: nn.Sequential of conv(1->32,k3,p1) relu maxpool2,
-- conv(32->64,k3,p1) relu maxpool2, flatten, linear 3136->128 relu, linear 128->10;
-- F.cross_entropy, backward, optim.SGD
if not only or only == "lenet" then
  local nn, optim = cnn.nn, cnn.optim
  local Bn = 64
  local model = nn.Sequential {
    nn.Conv2d(1, 32, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10),
  }
  local opt = optim.SGD(model, {lr = 0.01})
  local x = cnn.randn(Bn, 1, 28, 28)
  local labels = cnn.randint(1, 11, {Bn})
  local function step()
    opt:zero_grad()
    local loss = F.cross_entropy(model(x), labels)
    loss:backward()
    opt:step()
    return loss
  end
  step()
  collectgarbage(); collectgarbage()
  local live0 = cnn.memory()
  local t = B.time(step, {reps = 9})
  collectgarbage(); collectgarbage()
  cnn.reset_peak_memory()
  local base = cnn.memory()
  step()
  local _, peak, cached = cnn.memory()
  collectgarbage(); collectgarbage()
  -- live tensors of a step: parameters, data, gradients and the activations one forward keeps
  -- for backward (the graph of the loss kept alive)
  local loss = F.cross_entropy(model(x), labels)
  local live1 = cnn.memory()
  loss = nil
  B.result("conv", "LeNet train step b64 (SGD)", t, nil,
    string.format("live %.2f MB (params+grads+data %.2f, +activations %.2f); peak %.2f MB = %.2fx live; " ..
      "block cache %.2f MB", live1 / 1e6, live0 / 1e6, (live1 - live0) / 1e6, peak / 1e6, peak / live1, cached / 1e6))
  assert(base == live0)
end
