-- The time of one data-parallel training step and the share of it spent communicating, for the
-- figures of docs/distributed.md. Run with 1 rank and with several:
--
--   mpirun -np 1 bin/cnn examples/distributed_step_time.lua [--model fashion|inception_v3] [--batch 64]
--   mpirun -np 2 bin/cnn examples/distributed_step_time.lua ...
--
-- --batch is the global batch (each rank takes batch / ranks); a step is forward, backward (with
-- DataParallel's averaging) and Adam. Prints, from rank 1: the median step time, the median time in
-- the gradient all-reduces, and the gradient size.
local cnn = require "cnn"
local dist = require "cnn.distributed"

local opts = cnn.cli.parse(arg, {
  description = "Step time of data-parallel training (cnn.distributed)",
  { "model", "fashion", "fashion (examples/fashion_mnist_model.lua) or inception_v3 (the AMD trunk, 224x224)" },
  { "batch", 64, "global batch" },
  { "steps", 20, "timed steps (after 3 warm-up steps)" },
  { "threads", 1, "threads per rank" },
})
cnn.set_num_threads(opts.threads)
local rank, ranks = dist.init()
assert(opts.batch % ranks == 0, "--batch must be a multiple of the ranks")
local B = opts.batch // ranks
cnn.manual_seed(1)
local model, x, y
if opts.model == "fashion" then
  local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
  model = dofile(here .. "/fashion_mnist_model.lua")()
  x, y = cnn.randn(B, 1, 28, 28), cnn.randint(1, 11, { B }):long()
else
  model = cnn.models.inception_v3({ num_classes = 2 })
  x, y = cnn.randn(B, 3, 224, 224), cnn.randint(1, 3, { B }):long()
end
local dp = dist.DataParallel(model)
local opt = cnn.optim.Adam(model, { lr = 1e-3 })
local n = 0
for _, p in ipairs(model:parameters()) do n = n + p:numel() end

local steps, comms = {}, {}
for s = 1, opts.steps + 3 do
  dist.barrier()
  local t0, c0 = dist.wtime(), dp.comm_seconds
  opt:zero_grad()
  local out = dp(x)
  if type(out) == "table" then out = out[1] end
  cnn.F.cross_entropy(out, y):backward()
  opt:step()
  if s > 3 then steps[#steps + 1] = dist.wtime() - t0; comms[#comms + 1] = dp.comm_seconds - c0 end
end
local function median(t) table.sort(t); return t[(#t + 1) // 2] end
if rank == 1 then
  local st, ct = median(steps), median(comms)
  print(("model %s, %d rank(s), global batch %d (%d per rank), %d thread(s) per rank"):format(opts.model, ranks, opts.batch, B, opts.threads))
  print(("step %.1f ms, of which all-reduce %.1f ms (%.0f%%); gradient %d floats = %.1f MB; %d all-reduce(s) per step"):format(
    1000 * st, 1000 * ct, 100 * ct / st, n, n * 4 / 1048576, dp.all_reduces // dp.syncs))
end
