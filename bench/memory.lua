-- bench/memory.lua: peak RSS (VmHWM) of 20 training steps (SGD with momentum, cross-entropy) of
-- resnet18 (batch 4, 112x112) and inception_v3 (batch 2, 299x299), each in a fresh process so
-- that each peak is its own. bench/memory_torch.py is PyTorch's twin. The time column is the
-- median step; the notes give the peak RSS, the RSS before the first step (the process with its
-- libraries and the model) and, here, the peak of live tensor bytes (cnn.memory()).
-- Run: CNN_THREADS=2 LUA_PATH='lua/?.lua;lua/?/init.lua;bench/?.lua;;' LUA_CPATH='lua/?.so;;' lua5.4 bench/memory.lua
local cases = {
  resnet18 = { batch = 4, size = 112, label = "resnet18 b4 112x112, 20 SGD steps" },
  inception_v3 = { batch = 2, size = 299, label = "inception_v3 b2 299x299, 20 SGD steps" },
}
local order = { "resnet18", "inception_v3" }


local cnn = require "cnn"
local B = require "lib"
local status_mb = B.status_mb

local name = arg[1]
if not name then                               -- the parent: one child process per model
  B.each_in_child(arg[0], order)
  return
end

local F = cnn.nn.functional
local c = assert(cases[name], "unknown model " .. name)
cnn.manual_seed(1)
local model = cnn.models[name]()
model:train()
local opt = cnn.optim.SGD(model, { lr = 0.01, momentum = 0.9 })
local x, y = cnn.randn(c.batch, 3, c.size, c.size), cnn.randint(1, 1001, { c.batch })
local rss0 = status_mb("VmRSS")
cnn.reset_peak_memory()
local times = {}
for step = 1, 20 do
  local t0 = B.now()
  local loss = F.cross_entropy(model(x), y)
  opt:zero_grad()
  loss:backward()
  opt:step()
  times[step] = B.now() - t0
end
table.sort(times)
local _, peak = cnn.memory()
B.result("memory", c.label, times[10], nil,
  ("peak RSS %.0f MB (%.0f before the first step; live tensors at most %.0f MB)"):format(
    status_mb("VmHWM"), rss0, peak / 2^20))
