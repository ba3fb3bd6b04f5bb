-- Trains one AMD progression model on a cohort folder (cnn.amd.simulate's layout, or a real
-- cohort laid out the same way) and writes it to --out/<name>.safetensors with what predict and
-- evaluate need. Names: image and image+geno (the paper's design), survival, geno.
--
--   bin/cnn examples/amd/train.lua --data out/demo/cohort --design paper --inputs image --out out/demo/models
--   bin/cnn examples/amd/train.lua --data DIR --design paper --inputs image+geno --trunk out/demo/models/image.safetensors
--   bin/cnn examples/amd/train.lua --data DIR --design survival --trunk out/demo/models/image.safetensors
--   bin/cnn examples/amd/train.lua --data DIR --design geno
--
-- The paper's design trains in two steps: the trunk with the severity head (binary cross-entropy
-- on the ordinal severity; a checkpoint after every epoch, --resume continues), then the
-- per-cutoff heads on the frozen trunk's cached features. --trunk takes the trunk and severity
-- head from a model file instead (image+geno reuses image's trunk, as the authors did).
local cnn = require "cnn"
local amd = cnn.amd
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local C = dofile(here .. "/common.lua")

local print = print                                    -- silenced on ranks > 1 with --distributed
local opts = cnn.cli.parse(arg, {
  description = "Train an AMD progression model (cnn.amd) on a cohort folder",
  { "data", "out/demo/cohort", "cohort folder (subjects.csv, visits.csv, genotypes, images/)" },
  { "design", "paper", "paper | survival | geno" },
  { "inputs", "", "image | image+geno (paper: image by default; survival: image+geno)" },
  { "cutoff", "all", "a cutoff year K, or all (2..7)" },
  { "backbone", "small", "small | resnet18 | inception_v3" },
  { "width", 1, "channel multiplier of the trunk (1: as published)" },
  { "image_size", 0, "images are cropped square and resized to this (0: 64 small, 224 resnet18, 299 inception_v3)" },
  { "epochs", 6, "passes over the training images for the trunk" },
  { "batch_size", 32, "images per step (trunk)" },
  { "lr", 1e-3, "Adam's learning rate (trunk)" },
  { "head_steps", 600, "full-batch Adam steps (at most) for the heads on the cached features" },
  { "head_lr", 0, "learning rate of the heads (0: 1e-2, survival 1e-3)" },
  { "augment", true, "flips, small rotations and colour jitter while training the trunk" },
  { "seed", 1, "seed of the weights, the shuffling and the split" },
  { "test", C.TEST, "fraction of subjects held out for testing (the paper's 128 / 1351)" },
  { "val", 0.15, "fraction of subjects for early stopping of the heads and the Youden thresholds (0: none, thresholds from the training data)" },
  { "trunk", "", "a model file whose trunk (and severity head) to reuse, frozen" },
  { "weights", "", "torchvision ImageNet weights converted by scripts/torch2safetensors.py, to start the trunk" },
  { "out", "out/demo/models", "folder of the model files" },
  { "name", "", "file name (default: image, image+geno, survival or geno)" },
  { "resume", false, "continue the trunk's training from the checkpoint in --out/checkpoints" },
  { "cache", true, "keep the trunk's features in --out/cache (reused by later runs)" },
  { "threads", cnn.get_num_threads(), "threads for OpenBLAS and the library's kernels" },
  { "distributed", false, "train the trunk data-parallel on MPI ranks (mpirun -np N bin/cnn ... --distributed): rank 1 then trains the heads and writes the model" },
})
cnn.set_num_threads(opts.threads)
local D
if opts.distributed then
  D = require "cnn.distributed"
  D.init()
  if not D.is_main() then print = function() end end    -- the script's own lines: rank 1 only
end
if opts.inputs == "" then opts.inputs = opts.design == "paper" and "image" or (opts.design == "geno" and "geno" or "image+geno") end
if opts.image_size == 0 then
  opts.image_size = opts.backbone == "small" and 64 or (opts.backbone == "inception_v3" and 299 or 224)
end
local name = opts.name ~= "" and opts.name or C.name(opts.design, opts.inputs)
local cutoffs = C.cutoffs(opts.cutoff)
local t_start = C.now()
C.mkdir(opts.out)

-- ---- data ----
local cohort = amd.cohort.load { dir = opts.data }
local split_cfg = { seed = opts.seed, test = opts.test, val = opts.val }
local sp = C.split(cohort, split_cfg)
local uses_image = opts.design ~= "geno"
-- with a trained trunk from a file, images are read only if its cached features are missing
local preload = opts.trunk == ""
local train = amd.dataset(cohort, sp.train, { cutoffs = cutoffs, image_size = opts.image_size, images = uses_image,
                                              preload = preload, desc = "loading training images" })
local val = sp.val and #sp.val > 0 and amd.dataset(cohort, sp.val, { cutoffs = cutoffs, image_size = opts.image_size,
                                                                     images = uses_image, preload = preload,
                                                                     desc = "loading validation images" })
print(("%s: %d training images of %d subjects%s; cutoffs %s"):format(name, train.n, #sp.subjects.train,
  val and (", %d validation images"):format(val.n) or "", table.concat(cutoffs, ",")))

-- ---- model ----
cnn.manual_seed(opts.seed)
local model = amd.model { design = opts.design, inputs = opts.inputs, backbone = opts.backbone, cutoffs = cutoffs,
                          image_size = opts.image_size, width = opts.width }
model.name, model.snps = name, cohort.snps
amd.fit_normalisation(model, train, opts.weights ~= "")    -- images: only when loaded (else --trunk's)
local trunk_from
if uses_image and opts.trunk ~= "" then
  local src = amd.load_model(opts.trunk)
  if src.backbone ~= model.backbone or src.image_size ~= model.image_size or src.width ~= model.width then
    error(("--trunk %s has backbone %s at %d pixels (width %g), not %s at %d (width %g)"):format(opts.trunk,
      src.backbone, src.image_size, src.width, model.backbone, model.image_size, model.width), 0)
  end
  cnn.no_grad(function()
    model.img_mean:copy_(src.img_mean); model.img_std:copy_(src.img_std)
  end)
  model.trunk:load_state_dict(src.trunk:state_dict())
  if model.design == "paper" then model.severity:load_state_dict(src.severity:state_dict()) end
  trunk_from = opts.trunk
  print(("trunk%s from %s (frozen)"):format(model.design == "paper" and " and severity head" or "", opts.trunk))
elseif uses_image and opts.weights ~= "" then
  local r = model.trunk.net:load_state_dict(cnn.load(opts.weights), { strict = false })
  print(("trunk started from %s (%d missing, %d unexpected names)"):format(opts.weights, #r.missing_keys, #r.unexpected_keys))
elseif uses_image then
  print("note: no --weights file: the trunk starts from random weights")
end

-- ---- step 1: the trunk ----
local history = {}
if uses_image and not trunk_from then
  C.mkdir(opts.out .. "/checkpoints")
  local t0 = C.now()
  history.trunk = amd.train_trunk(model, train, {
    epochs = opts.epochs, batch_size = opts.batch_size, lr = opts.lr, seed = opts.seed, augment = opts.augment,
    checkpoint = ("%s/checkpoints/%s.safetensors"):format(opts.out, name), resume = opts.resume,
    distributed = opts.distributed })
  print(("trunk: %d epochs in %.1f s, last loss %.4f"):format(opts.epochs, C.now() - t0, history.trunk.loss[#history.trunk.loss] or 0 / 0))
end
-- the heads train on cached features in seconds: rank 1 alone finishes the job
if D then
  if not D.is_main() then D.finalize(); os.exit(0) end
end

-- ---- step 2: heads on the frozen trunk's cached features ----
local trunk_name = trunk_from and trunk_from:match("([^/]+)%.safetensors$") or name
local function cached_features(set, part)
  if not uses_image or not opts.cache then return nil end
  return C.features(model, set, opts.out, trunk_name, part, split_cfg)
end
train.features = cached_features(train, "train")
if val then val.features = cached_features(val, "val") end
local t0 = C.now()
history.head = amd.train_head(model, train, { steps = opts.head_steps, lr = opts.head_lr > 0 and opts.head_lr or nil, seed = opts.seed,
                                               val = val or nil })
print(("heads: %d steps in %.1f s, loss %.4f -> %.4f%s"):format(opts.head_steps, C.now() - t0, history.head.loss[1] or 0 / 0,
  history.head.loss[#history.head.loss] or 0 / 0, val and (", kept step %d (best validation loss)"):format(history.head.best_step) or ""))

-- ---- Youden thresholds (pROC's midpoints) on the validation subjects, else the training data ----
local tune = val or train
model.thresholds = amd.youden_thresholds(amd.predict_set(model, tune), tune.labels)
local th = {}
for k, c in ipairs(cutoffs) do th[k] = ("%d: %.3f"):format(c, model.thresholds[k]) end
print(("Youden thresholds (%s): %s"):format(val and "validation" or "training data", table.concat(th, ", ")))

local path = ("%s/%s.safetensors"):format(opts.out, name)
amd.save_model(model, path, { split = split_cfg, trunk_from = trunk_from or "", seconds = C.now() - t_start,
                              history = history, data = opts.data })
print(("wrote %s (%.1f s in all)"):format(path, C.now() - t_start))
