-- bench/nets.lua: whole networks (issue 24), each case in a fresh process so that its peak RSS is
-- its own: resnet18 and inception_v3 training steps (SGD with momentum, cross-entropy),
-- inception_v3 features in eval mode without grad, the AMD demo's small trunk (paper design,
-- width 0.5, 64x64, batch 32, Adam on trunk + severity head, as bench/amd.lua), one epoch of
-- the primer's DNA CNN (1,500 sequences of 50 bases, batch 32, Adam, as bench/motif.lua) and one
-- epoch of the genomic-prediction MLP (cnn.genomics.mlp: 50,000 -> 64 -> 32 -> 1, batch 32, Adam,
-- cnn.genomics.fit_network on the 2-bit codes of 2,000 x 50,000 simulated genotypes, as bench/gp.lua;
-- the PLINK files are written once to /tmp/cnn_bench_gp_2000x50000.* and shared with bench/gp.lua).
-- Time: the median of 3 runs after one warm-up run. GFLOP/s: the FLOPs of the Conv1d / Conv2d /
-- Linear layers (B.forward_flops: 2 x multiply-adds; a training step = 3 forwards, eval 1), the
-- same counts as the twin's. The first row is the yardstick: raw cblas_sgemm (cnn._bench.sgemm_time)
-- of resnet18's layer2 3x3 convolution at batch 4 as one GEMM (128 x 3136 x 1152), measured by
-- the parent; each case's note gives its GFLOP/s as a share of it. The notes give the peak RSS
-- (VmHWM) and the peak of live tensor bytes (cnn.memory()). Twin: bench/nets_torch.py (same
-- cases, same names). NETS="resnet18_b4,motif" runs only those cases (names: the keys of `labels`).
-- Run: CNN_THREADS=1 LUA_PATH='lua/?.lua;lua/?/init.lua;bench/?.lua;;' LUA_CPATH='lua/?.so;;' lua5.4 bench/nets.lua
local order = { "resnet18_b4", "inception_features_b8", "inception_train_b4", "resnet18_b16",
                "amd_small", "motif", "gp_mlp", "inception_b1" }
local labels = {
  resnet18_b4 = "resnet18 train step b4 224x224 (SGD)",
  inception_features_b8 = "inception_v3 features b8 224x224 (eval, no grad)",
  inception_train_b4 = "inception_v3 train step b4 299x299 (SGD)",
  resnet18_b16 = "resnet18 train step b16 112x112 (SGD)",
  amd_small = "AMD small trunk w0.5 train step b32 64x64 (Adam)",
  motif = "DNA motif CNN epoch 1500 x 50 b32 (Adam)",
  gp_mlp = "genomic-prediction MLP epoch 2000 x 50000 b32 (Adam)",
  inception_b1 = "inception_v3 inference b1 299x299 (eval, no grad)",
}
local SGEMM = { 128, 3136, 1152 }    -- M, N, K: the yardstick GEMM (resnet18 layer2 conv, batch 4)


local cnn = require "cnn"
local B = require "lib"
local status_mb = B.status_mb

local name = arg[1]
if not name then                               -- the parent: one child process per case
  local want
  if os.getenv("NETS") and os.getenv("NETS") ~= "" then
    want = {}
    for n in os.getenv("NETS"):gmatch("[^,%s]+") do
      assert(labels[n], "bench/nets.lua: unknown case " .. n)
      want[n] = true
    end
  end
  local run = {}
  for _, n in ipairs(order) do
    if not want or want[n] then run[#run + 1] = n end
  end
  local M, N, K = table.unpack(SGEMM)
  local fl = 2.0 * M * N * K
  local tg = cnn._bench.sgemm_time(M, N, K, 9)
  B.sleep(0.3)   -- OpenBLAS's threads spin ~0.1 s after their last job: let them rest before the cases
  B.result("nets", ("sgemm %dx%dx%d (yardstick)"):format(M, N, K), tg, fl,
    ("raw cblas_sgemm; OpenBLAS core %s (OPENBLAS_CORETYPE %s)"):format(cnn.blas_core,
      os.getenv("OPENBLAS_CORETYPE") or "unset"))
  B.each_in_child(arg[0], run, ("NETS_SGEMM_GFLOPS=%.2f"):format(fl / tg / 1e9))
  return
end
local F = cnn.nn.functional
assert(labels[name], "unknown case " .. name)
cnn.manual_seed(1)

local flops         -- of one timed run (a step, or an epoch)
local function classifier_step(model, batch, size)
  flops = 3 * batch * B.forward_flops(model, function() return model(cnn.randn(1, 3, size, size)) end)
  model:train()
  local opt = cnn.optim.SGD(model, { lr = 0.01, momentum = 0.9 })
  local x, y = cnn.randn(batch, 3, size, size), cnn.randint(1, 1001, { batch })
  return function()
    local loss = F.cross_entropy(model(x), y)
    opt:zero_grad()
    loss:backward()
    opt:step()
  end
end

local step
if name == "resnet18_b4" then step = classifier_step(cnn.models.resnet18(), 4, 224)
elseif name == "resnet18_b16" then step = classifier_step(cnn.models.resnet18(), 16, 112)
elseif name == "inception_train_b4" then step = classifier_step(cnn.models.inception_v3(), 4, 299)
elseif name == "inception_features_b8" then
  local model = cnn.models.inception_v3()
  model:eval()
  local x = cnn.randn(8, 3, 224, 224)
  flops = 8 * B.forward_flops(model, function() return model:forward_features(cnn.randn(1, 3, 224, 224)) end)
  step = function() cnn.no_grad(function() return model:forward_features(x) end) end
elseif name == "inception_b1" then       -- one photograph at a time, as the risk calculator predicts
  local model = cnn.models.inception_v3()
  model:eval()
  local x = cnn.randn(1, 3, 299, 299)
  flops = B.forward_flops(model, function() return model(x) end)
  step = function() cnn.no_grad(function() return model(x) end) end
elseif name == "amd_small" then
  local m = cnn.amd.model { design = "paper", backbone = "small", image_size = 64, width = 0.5 }
  flops = 3 * 32 * B.forward_flops(m, function() return m:severity_logits(m:features(cnn.rand(1, 3, 64, 64))) end)
  m:train()
  local x, y = cnn.rand(32, 3, 64, 64), cnn.rand(32, 2):round()
  local params = {}
  for _, p in ipairs(m.trunk:parameters()) do params[#params + 1] = p end
  for _, p in ipairs(m.severity:parameters()) do params[#params + 1] = p end
  local opt = cnn.optim.Adam(params)
  step = function()
    local loss = F.binary_cross_entropy_with_logits(m:severity_logits(m:features(x)), y)
    opt:zero_grad()
    loss:backward()
    opt:step()
  end
elseif name == "motif" then
  local G = cnn.genomics
  local seqs, lab = G.simulate_motif { n = 1500, seed = 1 }
  local x, y = cnn.data.sequence.one_hot(seqs), lab + 1
  local model = G.motif_cnn()
  flops = 3 * x:size(1) * B.forward_flops(model, function() return model(x:narrow(1, 1, 1)) end)
  local opt = cnn.optim.Adam(model, { lr = 1e-2 })
  local loader = cnn.data.DataLoader(cnn.data.TensorDataset(x, y), { batch_size = 32, shuffle = true, seed = 1 })
  step = function()
    for batch in loader:iter() do
      local loss = F.cross_entropy(model(batch[1]), batch[2])
      opt:zero_grad()
      loss:backward()
      opt:step()
    end
  end
elseif name == "gp_mlp" then
  local G = cnn.genomics
  local N, P = 2000, 50000
  local prefix = ("/tmp/cnn_bench_gp_%dx%d"):format(N, P)
  local f = io.open(prefix .. ".bed", "rb")
  if f then f:close() else G.simulate_genotypes { n = N, p = P, qtl = 500, h2 = 0.5, seed = 1, out = prefix } end
  collectgarbage()
  local g = G.open_bed(prefix)
  local y = G.read_pheno(prefix .. ".pheno", g).values
  local model = G.mlp(P)
  flops = 3 * N * B.forward_flops(model, function() return model(cnn.zeros(1, P)) end)
  step = function()                  -- one epoch: all 2,000 individuals (no validation part)
    G.fit_network(model, g, y, { epochs = 1, valid = 0, progress = false, batch_size = 32 })
  end
end

local rss0 = status_mb("VmRSS")
cnn.reset_peak_memory()
local s = B.time(step, { reps = 3, warm = 1 })
local _, peak = cnn.memory()
local yard = tonumber(os.getenv("NETS_SGEMM_GFLOPS") or "")
B.result("nets", labels[name], s, flops,
  ("%s%.2f GFLOP a run; peak RSS %.0f MB (%.0f before the first step; live tensors at most %.0f MB)"):format(
    yard and ("%.0f%% of sgemm; "):format(100 * flops / s / 1e9 / yard) or "", flops / 1e9,
    status_mb("VmHWM"), rss0, peak / 2^20))
