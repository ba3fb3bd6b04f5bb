-- Fashion-MNIST end to end: Debian's dataset-fashion-mnist -> a CNN (two conv + batch norm + relu +
-- max-pool blocks, dropout, a two-layer head) trained with Adam and a cosine learning-rate
-- schedule, a progress bar per epoch, evaluation on the 10,000 test images after each epoch, a
-- checkpoint per epoch (model, optimizer, scheduler, generator, loader epoch, history) written
-- atomically, and at the end a confusion matrix, per-class accuracy, a loss/accuracy curve (SVG),
-- the confusion matrix as a heat map (SVG) and a grid of misclassified test images (PNG + legend).
--
--   bin/cnn examples/fashion_mnist.lua [--epochs 8] [--threads 2] [--out out/fashion_mnist]
--   bin/cnn examples/fashion_mnist.lua --resume out/fashion_mnist --epochs 10   # continue
--
-- --resume continues bit for bit: 2 epochs straight equal 1 epoch + resume + 1 epoch
-- (spec/fashion_mnist_spec.lua checks it on a subset).
--
--   mpirun -np 2 bin/cnn examples/fashion_mnist.lua --distributed [--threads 1]   # data-parallel (docs/distributed.md)
--
-- --distributed: every rank trains on its shard of each epoch (cnn.data.DistributedSampler) with
-- --batch_size / ranks images per step, gradients averaged by cnn.distributed.DataParallel, so a
-- step sees --batch_size images in all as in one process. Only rank 1 prints, evaluates on the test
-- set and writes files; the epoch's train loss is averaged over the ranks (the bar shows rank 1's
-- running loss). A checkpoint resumes with any number of ranks (every rank reads it: a shared
-- folder on a cluster).
local cnn = require "cnn"
local nn, optim, data = cnn.nn, cnn.optim, cnn.data
local progress, metrics, plot, image = cnn.progress, cnn.metrics, cnn.plot, cnn.image

local opts = cnn.cli.parse(arg, {
  description = "Train a CNN on Fashion-MNIST (Debian's dataset-fashion-mnist)",
  { "epochs", 8, "passes over the training set (in all, counting resumed ones)" },
  { "batch_size", 64, "samples per step" },
  { "lr", 2e-3, "Adam's initial learning rate (cosine-annealed to 0 over --epochs)" },
  { "threads", cnn.get_num_threads(), "threads for OpenBLAS and the library's kernels" },
  { "seed", 1, "seed of the weights, dropout and the shuffling" },
  { "out", "", "folder for the checkpoint, curves and pictures (default: the --resume folder, else out/fashion_mnist)" },
  { "resume", "", "continue from the checkpoint in this folder" },
  { "subset", 0, "train and test on the first N images of each split (0: all; for quick checks)" },
  { "data_dir", "/usr/share/datasets/fashion-mnist", "folder of the IDX files" },
  { "distributed", false, "data-parallel over the ranks of mpirun (cnn.distributed)" },
})
if opts.out == "" then opts.out = opts.resume ~= "" and opts.resume or "out/fashion_mnist" end
cnn.set_num_threads(opts.threads)
cnn.manual_seed(opts.seed)

-- ---- ranks: one process, or one of mpirun's ----
local dist, rank, ranks = nil, 1, 1
if opts.distributed then
  dist = require "cnn.distributed"
  rank, ranks = dist.init()
  if opts.batch_size % ranks ~= 0 then
    error(("--batch_size %d is not a multiple of the %d ranks"):format(opts.batch_size, ranks))
  end
end
local main = rank == 1
local print = main and print or function() end
local quiet = { write = function() end, flush = function() end }   -- the progress bar of ranks 2..
local now = os.time
do local ok, system = pcall(require, "system"); if ok then now = system.gettime end end

-- ---- data ----
local train = data.fashion_mnist("train", { dir = opts.data_dir })
local test = data.fashion_mnist("test", { dir = opts.data_dir })
if opts.subset > 0 then
  train = data.Subset(train, cnn.arange(1, math.min(opts.subset, #train) + 1))
  test = data.Subset(test, cnn.arange(1, math.min(opts.subset, #test) + 1))
end
local classes = data.fashion_mnist_classes
local loader = dist
  and data.DataLoader(train, { batch_size = opts.batch_size // ranks,
                               sampler = data.DistributedSampler(train, { seed = opts.seed }) })
  or data.DataLoader(train, { batch_size = opts.batch_size, shuffle = true, seed = opts.seed })
local test_loader = data.DataLoader(test, { batch_size = 500 })

-- ---- model (examples/fashion_mnist_model.lua, next to this script) ----
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local model = dofile(here .. "/fashion_mnist_model.lua")()

local opt = optim.Adam(model, { lr = opts.lr })
local sched = optim.lr_scheduler.CosineAnnealingLR(opt, opts.epochs)
local history = { loss = {}, test_loss = {}, test_acc = {}, seconds = {} }
local first_epoch = 1

-- ---- checkpoints: one file, replaced atomically by cnn.save ----
local ckpt_path = opts.out .. "/checkpoint.safetensors"
local function save_checkpoint(epoch)
  if not main then return end
  cnn.save({ model = model:state_dict(), optimizer = opt:state_dict(), scheduler = sched:state_dict(),
             rng = cnn.get_rng_state(), epoch = epoch, history = history, seed = opts.seed }, ckpt_path)
end
if opts.resume ~= "" then
  local ck = cnn.load(opts.resume .. "/checkpoint.safetensors")
  model:load_state_dict(ck.model)
  opt:load_state_dict(ck.optimizer)
  sched:load_state_dict(ck.scheduler)   -- after the optimizer: it recomputes the lr for --epochs
  cnn.set_rng_state(ck.rng)
  history, first_epoch = ck.history, ck.epoch + 1
  if ck.seed ~= opts.seed then io.stderr:write(("note: the checkpoint was trained with --seed %d\n"):format(ck.seed)) end
  print(("resumed from %s after epoch %d"):format(opts.resume, ck.epoch))
end
if main then os.execute(("mkdir -p '%s'"):format(opts.out:gsub("'", "'\\''"))) end
-- DataParallel: rank 1's parameters and buffers on every rank, gradients averaged after backward;
-- dropout draws differ between ranks (their generators are seeded apart)
local net = model
if dist then
  net = dist.DataParallel(model)
  if rank > 1 then cnn.manual_seed(opts.seed + 7919 * (rank - 1) + first_epoch) end
end

-- ---- evaluation: mean loss, accuracy, predictions (1-based classes) ----
local function evaluate()
  model:eval()
  local preds, total, n = {}, 0, 0
  cnn.no_grad(function()
    for batch in test_loader:iter() do
      local z = model(batch[1])
      total = total + nn.functional.cross_entropy(z, batch[2], { reduction = "sum" }):item()
      n = n + batch[1]:size(1)
      preds[#preds + 1] = z:argmax(2)
    end
  end)
  model:train()
  local pred = cnn.cat(preds, 1)
  return total / n, pred
end
local test_labels = cnn.cat((function()
  local t = {}
  for batch in test_loader:iter() do t[#t + 1] = batch[2] end
  return t
end)(), 1)

print(model)
print(("%d parameters; %d training images, %d test images; batch %d; %d thread(s)"):format(
  model:num_parameters(), #train, #test, opts.batch_size, cnn.get_num_threads()))

-- ---- training ----
local pred
for epoch = first_epoch, opts.epochs do
  loader:set_epoch(epoch)
  model:train()
  local t0, sum, count = now(), 0, 0
  do
    local bar <close> = progress.bar(loader:len(), { desc = ("epoch %d/%d"):format(epoch, opts.epochs),
                                                     out = not main and quiet or nil })
    for batch in loader:iter() do
      local loss = nn.functional.cross_entropy(net(batch[1]), batch[2])
      opt:zero_grad()
      loss:backward()
      opt:step()
      local l = loss:item()
      sum, count = sum + l * batch[1]:size(1), count + batch[1]:size(1)
      bar:update(1, { loss = sum / count, lr = opt.param_groups[1].lr })
    end
  end
  sched:step()
  if dist then   -- the train loss over every rank's images
    local t = dist.all_reduce(cnn.tensor({ sum, count }, "float64"))
    sum, count = t[1], t[2]
  end
  local secs = now() - t0
  if not main then goto next_epoch end
  local test_loss
  test_loss, pred = evaluate()
  local acc = metrics.accuracy(pred, test_labels)
  history.loss[epoch], history.test_loss[epoch], history.test_acc[epoch], history.seconds[epoch] = sum / count, test_loss, acc, secs
  print(("epoch %d: train loss %.4f, test loss %.4f, test accuracy %.2f%%, %.1f s (%.0f samples/s)"):format(
    epoch, sum / count, test_loss, 100 * acc, secs, count / secs))
  save_checkpoint(epoch)
  ::next_epoch::
end
if not main then return end
if not pred then
  local _
  _, pred = evaluate()
end

-- ---- results ----
local cm = metrics.confusion_matrix(pred, test_labels, 10)
local rows = cm:totable()
print("\nconfusion matrix (rows: true class, columns: predicted)")
local header = { ("%-15s"):format("") }
for j = 1, 10 do header[#header + 1] = ("%6d"):format(j) end
print(table.concat(header) .. "   accuracy")
for i = 1, 10 do
  local line, tot = { ("%2d %-12s"):format(i, classes[i]) }, 0
  for j = 1, 10 do line[#line + 1] = ("%6d"):format(rows[i][j]); tot = tot + rows[i][j] end
  line[#line + 1] = ("   %6.2f%%"):format(tot > 0 and 100 * rows[i][i] / tot or 0)
  print(table.concat(line))
end
local acc = metrics.accuracy(pred, test_labels)
print(("test accuracy %.2f%%"):format(100 * acc))

local epochs = {}
for e = 1, #history.test_acc do epochs[e] = e end
if #epochs > 0 then
  plot.lines({ { x = epochs, y = history.loss, label = "train loss" }, { x = epochs, y = history.test_loss, label = "test loss" },
               { x = epochs, y = history.test_acc, label = "test accuracy" } },
             opts.out .. "/curves.svg", { title = "Fashion-MNIST", xlabel = "epoch", ylabel = "loss / accuracy" })
end
plot.heatmap(cm, opts.out .. "/confusion.svg", { labels = classes, title = "Confusion matrix (rows: true class)",
                                                 xlabel = "predicted", ylabel = "true" })

-- the first 64 misclassified test images, in a grid; the legend lists them in the same order
local wrong, is_wrong = {}, pred:ne(test_labels):totable()
for i = 1, #is_wrong do if is_wrong[i] == 1 and #wrong < 64 then wrong[#wrong + 1] = i end end
local imgs, legend = {}, { "# position in misclassified.png (row, column), test image, true class, predicted class" }
for k, i in ipairs(wrong) do
  local sample = test:get(i)
  imgs[k] = sample[1]
  legend[#legend + 1] = ("%d,%d\t%d\t%s\t%s"):format((k - 1) // 8 + 1, (k - 1) % 8 + 1, i,
    classes[math.tointeger(test_labels[i])], classes[math.tointeger(pred[i])])
end
if #imgs > 0 then
  image.save(image.grid(imgs, 8), opts.out .. "/misclassified.png")
  -- written beside its name, then renamed over it: a killed run leaves the old legend whole
  local path = opts.out .. "/misclassified.txt"
  local f = assert(io.open(path .. ".part", "w"))
  assert(f:write(table.concat(legend, "\n"), "\n"))
  assert(f:close())
  assert(os.rename(path .. ".part", path))
end
print(("wrote %s/{checkpoint.safetensors, curves.svg, confusion.svg, misclassified.png, misclassified.txt}"):format(opts.out))
