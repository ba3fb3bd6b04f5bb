-- bench/profile.lua: where the time of one resnet18 training step goes (batch 4, 224x224,
-- cross-entropy, SGD with momentum 0.9), by cnn.profile: one warm-up step, then the median of 3
-- unprofiled steps for scale, then one profiled step; prints cnn.profile's table and a markdown
-- table of the top ops (PROFILE_TOP, default 12). Twin: bench/profile_torch.py (torch.profiler on
-- the same step). Not a RESULT benchmark (bench/compare.sh skips it); docs/perf-conv.md shows a run.
-- Run: CNN_THREADS=1 bin/cnn bench/profile.lua   (OPENBLAS_CORETYPE as in the environment)
package.path = "bench/?.lua;" .. package.path
local cnn = require "cnn"
local B = require "lib"
local F = cnn.F
local top = tonumber(os.getenv("PROFILE_TOP") or "") or 12

cnn.manual_seed(1)
local model = cnn.models.resnet18()
model:train()
local opt = cnn.optim.SGD(model, { lr = 0.01, momentum = 0.9 })
local x, y = cnn.randn(4, 3, 224, 224), cnn.randint(1, 1001, { 4 })
local function step()
  local loss = F.cross_entropy(model(x), y)
  opt:zero_grad()
  loss:backward()
  opt:step()
end

local t = B.time(step, { reps = 3, warm = 1 })
local rep = cnn.profile(step)
print(("cnn: resnet18 train step b4 224x224 (SGD), %d thread(s), OpenBLAS core %s (OPENBLAS_CORETYPE %s)"):format(
  B.threads, cnn.blas_core, os.getenv("OPENBLAS_CORETYPE") or "unset"))
print(("unprofiled step: %.1f ms (median of 3); profiled step: %.1f ms"):format(t * 1e3, rep.total * 1e3))
print()
print(rep:table(top))
print()
print("| op | pass | calls | ms | share |")
print("|---|---|---|---|---|")
for i = 1, math.min(top, #rep.ops) do
  local o = rep.ops[i]
  print(("| %s | %s | %d | %.1f | %.1f%% |"):format(o.name, o.pass, o.calls, o.seconds * 1e3, 100 * o.share))
end
print(("| other (Lua, optimizer step, zero_grad, in-place ops) | | | %.1f | %.1f%% |"):format(
  rep.other * 1e3, 100 * rep.other / rep.total))
print(("| total (wall) | | | %.1f | |"):format(rep.total * 1e3))
