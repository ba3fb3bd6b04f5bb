-- bench/fashion_mnist.lua: one training epoch of examples/fashion_mnist.lua's model (60,000
-- shuffled images, batch 64, Adam, train mode: batch norm statistics and dropout) -> seconds,
-- samples/s and the process's peak RSS. Twin: bench/fashion_mnist_torch.py. FM_SAMPLES=n shortens
-- the epoch for a quick look.
local cnn = require "cnn"
local B = require "lib"
local nn, data = cnn.nn, cnn.data

local ok, train = pcall(data.fashion_mnist, "train")
if not ok then io.stderr:write("bench/fashion_mnist.lua: skipped (", tostring(train), ")\n"); return end
local n = tonumber(os.getenv("FM_SAMPLES") or "") or 60000
if n < #train then train = data.Subset(train, cnn.arange(1, n + 1)) end
cnn.manual_seed(1)
local model = dofile("examples/fashion_mnist_model.lua")()   -- run from the repository root
local opt = cnn.optim.Adam(model, { lr = 2e-3 })
local loader = data.DataLoader(train, { batch_size = 64, shuffle = true, seed = 1 })

local function epoch()
  for batch in loader:iter() do
    local loss = nn.functional.cross_entropy(model(batch[1]), batch[2])
    opt:zero_grad()
    loss:backward()
    opt:step()
  end
end
local s = B.time(epoch, { reps = 1, warm = 0 })
local rss = ("%.0f"):format(B.status_mb("VmHWM") or 0 / 0)
B.result("fashion_mnist", ("epoch %d samples b64 (Adam)"):format(#train), s, nil,
  ("%.0f samples/s; peak RSS %s MB"):format(#train / s, rss))
