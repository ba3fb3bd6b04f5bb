-- bench/layers.lua: the convolutions of resnet18 at batch 4, 224x224, one by one (forward without
-- grad, and forward + backward with the input's gradient, as in a training step; the stem has no
-- input gradient), to see which layer shapes win or lose against PyTorch inside the whole-network
-- numbers of bench/nets.lua. Each case's FLOPs are those of the direct convolution (Winograd
-- layers do fewer products). Twin: bench/layers_torch.py. LAYERS="l4" runs the cases whose name
-- contains that text.
local cnn = require "cnn"
local F = cnn.F
local B = require "lib"

cnn.manual_seed(1)
local N = 4
-- name, C, OC, input size, kernel, stride, padding, input gradient
local cases = {
  { "r18 stem 3->64 224 k7 s2", 3, 64, 224, 7, 2, 3, false },
  { "r18 l1 64->64 56 k3", 64, 64, 56, 3, 1, 1, true },
  { "r18 l2 64->128 56 k3 s2", 64, 128, 56, 3, 2, 1, true },
  { "r18 l2 down 64->128 56 k1 s2", 64, 128, 56, 1, 2, 0, true },
  { "r18 l2 128->128 28 k3", 128, 128, 28, 3, 1, 1, true },
  { "r18 l3 128->256 28 k3 s2", 128, 256, 28, 3, 2, 1, true },
  { "r18 l3 down 128->256 28 k1 s2", 128, 256, 28, 1, 2, 0, true },
  { "r18 l3 256->256 14 k3", 256, 256, 14, 3, 1, 1, true },
  { "r18 l4 256->512 14 k3 s2", 256, 512, 14, 3, 2, 1, true },
  { "r18 l4 down 256->512 14 k1 s2", 256, 512, 14, 1, 2, 0, true },
  { "r18 l4 512->512 7 k3", 512, 512, 7, 3, 1, 1, true },
}
local only = os.getenv("LAYERS")
for _, c in ipairs(cases) do
  local name, C, OC, H, k, s, p, gx = table.unpack(c)
  if not only or name:find(only, 1, true) then
    local OH = (H + 2 * p - k) // s + 1
    local flops = 2 * N * OC * OH * OH * C * k * k
    local x = cnn.randn({ N, C, H, H }, { requires_grad = gx })
    local w = (cnn.randn({ OC, C, k, k }) * 0.1):requires_grad(true)
    local o = { stride = s, padding = p }
    local tf = cnn.no_grad(function() return B.time(function() return F.conv2d(x, w, nil, o) end, { reps = 7 }) end)
    B.result("layers", name .. " fwd", tf, flops)
    local g = cnn.randn(N, OC, OH, OH)
    local tb = B.time(function()
      x.grad, w.grad = nil, nil
      F.conv2d(x, w, nil, o):backward(g)
    end, { reps = 7 })
    B.result("layers", name .. " fwd+bwd", tb, (gx and 3 or 2) * flops)
  end
end
