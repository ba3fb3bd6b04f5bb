-- Training the AMD models: the losses (masked binary cross-entropy, the censored discrete-time
-- survival likelihood), the data set built from a cohort (labels, times, severity, genotypes,
-- covariates, images loaded once and kept resized), the frozen-trunk feature cache, the trunk
-- and head training loops with atomic checkpoints, Youden thresholds and the model files.
-- Networks: lua/cnn/amd/network.lua. Spec: spec/amd_model_spec.lua.
local cnn = require "cnn"
local F = require "cnn.nn.functional"
local A = require "cnn.nn.argcheck"
local Mdl = require "cnn.amd.network"

local M = {}
local NaN = 0 / 0

-- ---- losses ----

-- mean binary cross-entropy over the present labels (NaN = missing, left out); 0 when none is
function M.masked_bce(logits, labels)
  local fn = "cnn.amd.masked_bce"
  A.tensor(fn, 1, "logits", logits)
  A.tensor(fn, 2, "labels", labels)
  local mask = labels:eq(labels):to(logits:dtype())
  local sum = A.call_as(fn, F.binary_cross_entropy_with_logits, logits, labels:to(logits:dtype()),
                        { weight = mask, reduction = "sum" })
  return sum / math.max(1, mask:sum():item())
end

-- the per-interval targets of the discrete-time likelihood, (N, horizon): 0 for each one-year
-- interval [j-1, j) the eye is known to have come through, 1 for the interval of its event, NaN
-- after the event or the censoring (an eye censored at 5.3 years contributes intervals 1..5)
function M.survival_targets(time, event, horizon)
  local fn = "cnn.amd.survival_targets"
  A.tensor(fn, 1, "time", time)
  A.tensor(fn, 2, "event", event)
  horizon = A.int(fn, 3, "horizon", horizon, 1)
  local t = time:double():reshape(-1, 1)
  local e = event:double():reshape(-1, 1)
  local j = cnn.arange(1, horizon + 1, "float64"):view(1, -1)
  local J = t:floor() + 1                                    -- the interval holding the time
  local survived = j:lt(J):double()
  local at_event = j:eq(J):double() * e
  local nan = cnn.full({ 1, horizon }, NaN, "float64")
  return cnn.where(survived:gt(0), 0 * j, cnn.where(at_event:gt(0), 1 + 0 * j, nan)):float()
end

-- the censored discrete-time negative log-likelihood per eye-visit (summed over its observed
-- intervals, averaged over the N visits): -(1/N) sum_i [sum_{j<J_i} log(1-h_ij) + e_i log h_iJ_i]
function M.survival_nll(hazard_logits, time, event)
  local fn = "cnn.amd.survival_nll"
  A.tensor(fn, 1, "hazard_logits", hazard_logits)
  local y = M.survival_targets(time, event, hazard_logits:size(2)):to(hazard_logits:dtype())
  local mask = y:eq(y):to(hazard_logits:dtype())
  local sum = A.call_as(fn, F.binary_cross_entropy_with_logits, hazard_logits, y, { weight = mask, reduction = "sum" })
  return sum / hazard_logits:size(1)
end

-- ---- data sets ----

-- the ordinal coding of the current severity: no AMD [0,0], early/intermediate [1,0], late [1,1]
-- (AREDS steps: 1 no AMD, 2..9 early to advanced intermediate, late flagged by the cohort)
function M._severity_targets(visits)
  local rows = {}
  for i, v in ipairs(visits) do
    rows[i] = { (v.late or v.severity >= 2) and 1 or 0, v.late and 1 or 0 }
  end
  return cnn.tensor(rows)
end

-- an image (3,H,W) in [0,1] cropped square and resized to size x size
local function prepare(img, size)
  if img:size(1) == 1 then img = img:expand(3, img:size(2), img:size(3)):contiguous() end
  img = cnn.image.square_crop(img)
  if img:size(2) ~= size then img = cnn.image.resize(img, size) end
  return img
end
M._prepare = prepare

local function augment(img)
  img = cnn.image.random_hflip(img)
  img = cnn.image.random_rotation(img, 10)
  return cnn.image.color_jitter(img, { brightness = 0.1, contrast = 0.1, saturation = 0.1 })
end

-- images of a data set: paths, loaded and resized once (kept in memory) when `preload`
local Images = {}
Images.__index = Images
function M._images(paths, size, opts)
  opts = opts or {}
  local self = setmetatable({ paths = paths, size = size, n = #paths }, Images)
  if opts.preload ~= false and #paths > 0 then
    self.data = cnn.zeros(#paths, 3, size, size)
    local bar <close> = cnn.progress.bar(#paths, { desc = opts.desc or "loading images" })
    for i, p in ipairs(paths) do
      self.data[i]:copy_(prepare(cnn.image.load(p), size))
      bar:update(1)
    end
  end
  return self
end
function Images.from_tensor(t)
  return setmetatable({ data = t, size = t:size(3), n = t:size(1) }, Images)
end
-- a batch (B,3,S,S) of the images at the 1-based positions idx (a list), augmented if asked
function Images:get(idx, aug)
  local out = {}
  for k, i in ipairs(idx) do
    local img = self.data and self.data[i] or prepare(cnn.image.load(self.paths[i]), self.size)
    out[k] = aug and augment(img) or img
  end
  return cnn.stack(out, 1)
end
M.Images = Images

-- the path of an image relative to the cohort's folder (as in visits.csv)
local function relative(cohort, path)
  local dir = cohort.dir and (cohort.dir:gsub("/+$", "") .. "/")
  if dir and path:sub(1, #dir) == dir then return path:sub(#dir + 1) end
  return path
end

local SMOKING = { never = { 0, 0 }, former = { 1, 0 }, current = { 0, 1 } }

-- cnn.amd.dataset(cohort, indices [, {cutoffs=, image_size=, images=true, preload=true}]): the
-- visits at `indices` (all when nil) as the tensors the training and evaluation use
function M.dataset(cohort, indices, opts)
  local fn = "cnn.amd.dataset"
  if type(cohort) ~= "table" or type(cohort.visits) ~= "table" then A.fail(fn, 1, "cohort", "a cohort (cnn.amd.cohort.load)", cohort) end
  opts = A.opts(fn, 3, opts, { "cutoffs", "image_size", "images", "preload", "desc" })
  local amd = require "cnn.amd"
  local cutoffs = opts.cutoffs or { 2, 3, 4, 5, 6, 7 }
  if indices == nil then
    indices = {}
    for i = 1, #cohort.visits do indices[i] = i end
  end
  local all_labels = amd.labels(cohort, cutoffs)
  local t_all, e_all = amd.times(cohort)
  local idx = cnn.tensor(indices, "int64")
  local set = { n = #indices, cutoffs = cutoffs, indices = indices, visits = {}, subjects = {}, eyes = {},
                years = {}, paths = {}, image_names = {} }
  set.labels = #indices > 0 and all_labels:index_select(1, idx) or cnn.zeros(0, #cutoffs)
  set.time = #indices > 0 and t_all:index_select(1, idx) or cnn.zeros(0)
  set.event = #indices > 0 and e_all:index_select(1, idx) or cnn.zeros(0)
  local geno, cov = {}, {}
  local G = cohort.genotypes
  local nan_row = {}
  for j = 1, Mdl.N_SNPS do nan_row[j] = NaN end
  local G_rows = G and G:totable()
  for k, i in ipairs(indices) do
    local v = cohort.visits[i]
    local s = cohort.subjects[v.subject]
    set.visits[k], set.subjects[k], set.eyes[k], set.years[k] = v, v.subject, v.subject .. ":" .. v.eye, v.years
    set.paths[k], set.image_names[k] = v.image, v.name or relative(cohort, v.image)
    geno[k] = (s and s.geno and G_rows) and G_rows[s.geno] or nan_row
    local sm = s and SMOKING[s.smoking] or { NaN, NaN }
    cov[k] = { (s and s.age or NaN) + v.years, sm[1], sm[2] }
  end
  set.severity = #indices > 0 and M._severity_targets(set.visits) or cnn.zeros(0, 2)
  set.geno = #indices > 0 and cnn.tensor(geno) or cnn.zeros(0, Mdl.N_SNPS)
  set.covariates = #indices > 0 and cnn.tensor(cov) or cnn.zeros(0, 3)
  if opts.images ~= false then
    set.images = M._images(set.paths, opts.image_size or 64, { preload = opts.preload, desc = opts.desc })
  end
  return set
end

-- the rows `rows` (a list) of a data set, as a data set
function M._subset(set, rows)
  local idx = cnn.tensor(rows, "int64")
  local out = { n = #rows, cutoffs = set.cutoffs }
  for _, k in ipairs({ "labels", "time", "event", "severity", "geno", "covariates", "features" }) do
    if set[k] then out[k] = set[k]:index_select(1, idx) end
  end
  for _, k in ipairs({ "indices", "visits", "subjects", "eyes", "years", "paths", "image_names" }) do
    if set[k] then
      out[k] = {}
      for j, r in ipairs(rows) do out[k][j] = set[k][r] end
    end
  end
  if set.images then
    out.images = set.images.data and Images.from_tensor(set.images.data:index_select(1, idx))
      or setmetatable({ paths = out.paths, size = set.images.size, n = #rows }, Images)
  end
  return out
end

-- ---- normalisation from the training data ----

-- column means and standard deviations of x (N,P) ignoring NaN (sd 1 where constant or empty)
local function nan_stats(x)
  local mask = x:eq(x):float()
  local n = mask:sum(1):clamp(1)
  local z = cnn.where(mask:gt(0), x, 0)
  local mean = z:sum(1) / n
  local d = cnn.where(mask:gt(0), x - mean, 0)
  local sd = ((d * d):sum(1) / n):sqrt()
  sd = cnn.where(sd:gt(1e-6), sd, 1)
  return mean:view(-1), sd:view(-1)
end

-- sets the model's normalisation buffers from a training set: genotype and covariate means and
-- sds; the images' per-channel mean and sd unless `imagenet` (converted torchvision weights)
function M.fit_normalisation(model, set, imagenet)
  cnn.no_grad(function()
    if set.geno and set.n > 0 then
      local m, s = nan_stats(set.geno)
      model.geno_mean:copy_(cnn.where(m:eq(m), m, 0)); model.geno_std:copy_(s)
      local cm, cs = nan_stats(set.covariates)
      model.cov_mean:copy_(cm); model.cov_std:copy_(cs)
    end
    if imagenet then
      model.img_mean:copy_(cnn.tensor({ 0.485, 0.456, 0.406 })); model.img_std:copy_(cnn.tensor({ 0.229, 0.224, 0.225 }))
    elseif model.uses_image and set.images and set.images.data and set.n > 0 then
      local x = set.images.data:transpose(1, 2):reshape(3, -1)
      model.img_mean:copy_(x:mean(2)); model.img_std:copy_(x:std(2):clamp(1e-3))
    end
  end)
end

-- covariates with missing values filled by the model's means (NaN would poison the linear part)
local function fill_cov(model, c)
  if c == nil then return nil end
  local mean = model.cov_mean:view(1, -1):expand(c:size(1), c:size(2))
  return cnn.where(c:ne(c), mean, c)
end

-- ---- the feature cache ----

-- cnn.amd.features(model, set [, {batch_size = 64, cache = path, key =}]) -> (N, num_features):
-- the frozen trunk run once per image (eval mode, no graph). With `cache`, a file holding
-- features made for the same key and rows is read instead, and a new one written atomically.
function M.features(model, set, opts)
  local fn = "cnn.amd.features"
  opts = A.opts(fn, 3, opts, { "batch_size", "cache", "key", "desc" })
  if not model.uses_image then A.error(fn .. ": the " .. model.design .. " design has no image trunk") end
  local key = opts.key or "features"
  if opts.cache then
    local f = io.open(opts.cache, "rb")
    if f then
      f:close()
      local c = cnn.load(opts.cache)
      if c.key == key and c.n == set.n then return c.features end
    end
  end
  local bs = opts.batch_size or 64
  local was = model.training
  model:eval()
  local out = {}
  local bar <close> = cnn.progress.bar(set.n, { desc = opts.desc or "features" })
  cnn.no_grad(function()
    for s = 1, set.n, bs do
      local rows = {}
      for i = s, math.min(set.n, s + bs - 1) do rows[#rows + 1] = i end
      out[#out + 1] = model:features(set.images:get(rows))
      bar:update(#rows)
    end
  end)
  model:train(was)
  local feats = #out > 0 and cnn.cat(out, 1) or cnn.zeros(0, model.trunk.num_features)
  if opts.cache then cnn.save({ key = key, n = set.n, features = feats }, opts.cache) end
  return feats
end

-- ---- training loops ----

local now = os.time
do local ok, system = pcall(require, "system"); if ok then now = system.gettime end end

local function list_params(mods)
  local ps = {}
  for _, m in ipairs(mods) do for _, p in ipairs(m:parameters()) do ps[#ps + 1] = p end end
  return ps
end

local function file_exists(path)
  local f = path and io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- cnn.amd.train_trunk(model, set [, opts]): trains the trunk on images, the paper's step 1 (the
-- severity head, binary cross-entropy on the ordinal severity) or, for "survival", the whole
-- network end to end with the censored likelihood. opts: epochs (5), batch_size (32), lr (1e-3),
-- seed (1), augment (true), checkpoint (a file replaced after every epoch), resume (continue from
-- it), quiet. Returns the history {loss = {...}, seconds = {...}}.
function M.train_trunk(model, set, opts)
  local fn = "cnn.amd.train_trunk"
  opts = A.opts(fn, 3, opts, { "epochs", "batch_size", "lr", "seed", "augment", "checkpoint", "resume", "weight_decay",
                               "distributed" })
  if not model.uses_image then A.error(fn .. ": the geno design has no trunk; use cnn.amd.train_head") end
  local epochs = A.int(fn, 3, "epochs", opts.epochs, 0, 5)
  local bs = A.int(fn, 3, "batch_size", opts.batch_size, 1, 32)
  local seed = A.int(fn, 3, "seed", opts.seed, nil, 1)
  local aug = opts.augment ~= false
  local mods = model.design == "paper" and { model.trunk, model.severity } or { model }
  -- distributed (an initialised cnn.distributed): every rank starts from rank 1's weights, takes
  -- its own batch_size rows of each global batch of batch_size x ranks, and the gradients are
  -- averaged before each step; a tail too small for every rank to get two rows is dropped on all
  -- ranks (the collectives must match); only rank 1 draws the bar and writes checkpoints
  local D, rank, size, dps = nil, 1, 1, {}
  if A.bool(fn, 3, "distributed", opts.distributed, false) then
    D = require "cnn.distributed"
    if not D.is_initialized() then A.error(fn .. ": distributed = true needs cnn.distributed.init() first") end
    rank, size = D.rank(), D.size()
    for i, m in ipairs(mods) do dps[i] = D.DataParallel(m, { auto = false }) end
  end
  local main = rank == 1
  local quiet = { write = function() end, flush = function() end }
  local opt = cnn.optim.Adam(list_params(mods), { lr = opts.lr or 1e-3, weight_decay = opts.weight_decay or 0 })
  local history, first = { loss = {}, seconds = {} }, 1
  if opts.resume and file_exists(opts.checkpoint) then
    local ck = cnn.load(opts.checkpoint)
    model:load_state_dict(ck.model)
    opt:load_state_dict(ck.optimizer)
    cnn.set_rng_state(ck.rng)
    history, first = ck.history, ck.epoch + 1
    if main then print(("resumed from %s after epoch %d"):format(opts.checkpoint, ck.epoch)) end
  else
    cnn.manual_seed(seed)
  end
  for epoch = first, epochs do
    model:train()
    local perm = cnn.randperm(set.n, seed + epoch - 1):totable()
    local t0, sum, count = now(), 0, 0
    do
      local bar <close> = cnn.progress.bar(math.ceil(set.n / (bs * size)),
                                           { desc = ("trunk epoch %d/%d"):format(epoch, epochs), out = not main and quiet or nil })
      for s = 1, set.n, bs * size do
        local chunk = math.min(set.n, s + bs * size - 1) - s + 1
        local first_row = s + (rank - 1) * bs
        local rows = table.move(perm, first_row, math.min(set.n, first_row + bs - 1), 1, {})
        -- batch norm needs two samples, on every rank (the last rank has the fewest)
        if chunk - (size - 1) * bs >= 2 then
          local idx = cnn.tensor(rows, "int64")
          local x = set.images:get(rows, aug)
          local loss
          if model.design == "paper" then
            loss = F.binary_cross_entropy_with_logits(model:severity_logits(model:features(x)), set.severity:index_select(1, idx))
          else
            local z = model:head_logits(model:features(x), set.geno:index_select(1, idx),
                                        fill_cov(model, set.covariates:index_select(1, idx)))
            loss = M.survival_nll(z, set.time:index_select(1, idx), set.event:index_select(1, idx))
          end
          opt:zero_grad()
          loss:backward()
          for _, dp in ipairs(dps) do dp:sync_gradients() end
          opt:step()
          sum, count = sum + loss:item() * #rows, count + #rows
        end
        bar:update(1, { loss = count > 0 and sum / count or 0 })
      end
    end
    history.loss[epoch], history.seconds[epoch] = count > 0 and sum / count or 0, now() - t0
    if opts.checkpoint and main then
      cnn.save({ model = model:state_dict(), optimizer = opt:state_dict(), rng = cnn.get_rng_state(),
                 epoch = epoch, history = history }, opts.checkpoint)
    end
  end
  return history
end

-- cnn.amd.train_head(model, set [, opts]): trains what sits on the frozen trunk, on the cached
-- features (set.features, computed by cnn.amd.features when absent): the per-cutoff heads of the
-- paper design (masked BCE), the survival head (censored likelihood), or the genotype logistic
-- regression. Full-batch Adam: opts steps (400; twice that for image+geno, see below), lr (1e-2;
-- 1e-3 for survival),
-- weight_decay (1e-4), seed (1). With
-- opts.val (a data set of other subjects) the loss on it is checked every `every` (10) steps
-- and the parameters of the best check are kept (early stopping: the genotypes of a few hundred
-- subjects are otherwise memorised). Runs on one thread (small matrices). Returns the history
-- {loss =, val_loss =, best_step =}.
function M.train_head(model, set, opts)
  local fn = "cnn.amd.train_head"
  opts = A.opts(fn, 3, opts, { "steps", "lr", "weight_decay", "seed", "val", "every" })
  local steps = A.int(fn, 3, "steps", opts.steps, 0, 400)
  local every = A.int(fn, 3, "every", opts.every, 1, 10)
  cnn.manual_seed(A.int(fn, 3, "seed", opts.seed, nil, 1))
  local function features(s)
    if not model.uses_image then return nil end
    s.features = s.features or M.features(model, s)
    return s.features:to(model.img_mean:dtype())
  end
  local f = features(set)
  local val = opts.val
  local fv = val and features(val)
  local mods
  if model.design == "paper" then mods = { model.heads }
  elseif model.design == "survival" then
    mods = { model.image_head, model.hazard }
    if model.geno_head then mods[#mods + 1] = model.geno_head end
  else mods = { model.linear } end
  local params = list_params(mods)
  -- the survival head (an MLP on 64+ features) overfits within 20 steps at 1e-2
  local lr = opts.lr or (model.design == "survival" and 1e-3 or 1e-2)
  local opt = cnn.optim.Adam(params, { lr = lr, weight_decay = opts.weight_decay or 1e-4 })
  model:eval()                                                  -- the trunk's batch norm frozen too
  local function loss_of(s, feats, c)
    local z = model:head_logits(feats, s.geno, c)
    return model.design == "survival" and M.survival_nll(z, s.time, s.event) or M.masked_bce(z, s.labels)
  end
  local c, cv = fill_cov(model, set.covariates), val and fill_cov(model, val.covariates)
  local history = { loss = {}, val_loss = {}, best_step = steps }
  local best, best_state = math.huge, nil
  local threads = cnn.get_num_threads()
  cnn.set_num_threads(1)
  -- paper image+geno: the first `steps` steps fit the severity inputs alone (the genotype weights
  -- held at 0, so the head becomes the image-only head); the next `steps` add the genotypes by
  -- plain gradient descent (SGD, lr 3e-3, momentum 0.9) from there: early-stopped gradient descent
  -- from 0 shrinks weak effects as ridge regression does, where Adam moves all 52 x 4 genotype
  -- weights by about lr per step whatever their signal (on the demo's 117 training subjects Adam
  -- made image+geno worse than image on the test subjects, SGD better). The validation checks
  -- start at the switch, so the image-only head is among the candidates.
  local two_phase = model.design == "paper" and model.uses_geno
  local total = two_phase and 2 * steps or steps
  local function check(step)
    local vl = cnn.no_grad(function() return loss_of(val, fv, cv):item() end)
    history.val_loss[#history.val_loss + 1] = vl
    if vl < best then
      best, history.best_step = vl, step
      best_state = {}
      for i, p in ipairs(params) do best_state[i] = p:detach():clone() end
    end
  end
  local ok, err = pcall(function()
    for step = 1, total do
      local phase1 = two_phase and step <= steps
      if two_phase and step == steps + 1 then
        opt = cnn.optim.SGD(params, { lr = 3e-3, momentum = 0.9 })
        if val then check(steps) end
      end
      local loss = loss_of(set, f, c)
      opt:zero_grad()
      loss:backward()
      if phase1 then
        for k = 1, #model.heads do model.heads[k][1].weight.grad:narrow(2, 3, Mdl.N_SNPS):zero_() end
      end
      opt:step()
      history.loss[step] = loss:item()
      if val and not phase1 and (step % every == 0 or step == total) then check(step) end
    end
  end)
  cnn.set_num_threads(threads)
  if not ok then error(err, 0) end
  if best_state then
    cnn.no_grad(function() for i, p in ipairs(params) do p:copy_(best_state[i]) end end)
  end
  return history
end

-- cnn.amd.predict_set(model, set [, {batch_size = 64}]) -> (N,K) float64 probabilities, one
-- column per cutoff (set.features used when present)
function M.predict_set(model, set, opts)
  opts = opts or {}
  local was = model.training
  model:eval()
  local out = cnn.no_grad(function()
    local c = fill_cov(model, set.covariates)
    if not model.uses_image then return model:probabilities(model:head_logits(nil, set.geno, c)) end
    if set.features then return model:probabilities(model:head_logits(set.features:to(model.img_mean:dtype()), set.geno, c)) end
    local parts, bs = {}, opts.batch_size or 64
    for s = 1, set.n, bs do
      local rows = {}
      for i = s, math.min(set.n, s + bs - 1) do rows[#rows + 1] = i end
      local idx = cnn.tensor(rows, "int64")
      parts[#parts + 1] = model(set.images:get(rows), set.geno:index_select(1, idx), c:index_select(1, idx))
    end
    return cnn.cat(parts, 1)
  end)
  model:train(was)
  return out:double()
end

-- Youden thresholds per cutoff (pROC's midpoints) from probabilities and labels; NaN for a
-- cutoff whose labels lack a class
function M.youden_thresholds(probs, labels)
  local thr = {}
  for k = 1, labels:size(2) do
    local y = labels:select(2, k)
    local present = y:eq(y)
    local npos = (present:double() * cnn.where(present, y, 0):double()):sum():item()
    local nall = present:double():sum():item()
    if npos > 0 and npos < nall then
      thr[k] = cnn.metrics.youden(probs:select(2, k), y).threshold
    else
      thr[k] = NaN
    end
  end
  return thr
end

-- ---- model files ----

-- cnn.amd.save_model(model, path [, extra]): the weights with everything predict needs (design,
-- cutoffs, input size, normalisation buffers, Youden thresholds, SNP names), written atomically
function M.save_model(model, path, extra)
  local thr = {}
  for k = 1, #model.cutoffs do thr[k] = (model.thresholds or {})[k] or NaN end
  -- a tensor, so that NaN (a cutoff without both classes) survives the file
  local meta = { config = model:config(), state = model:state_dict(), thresholds = cnn.tensor(thr, "float64"),
                 snps = model.snps or {}, name = model.name or model.design }
  for k, v in pairs(extra or {}) do meta[k] = v end
  cnn.save(meta, path)
end

-- cnn.amd.load_model(path) -> the model (eval mode) with .thresholds, .snps, .name and .meta
function M.load_model(path)
  local fn = "cnn.amd.load_model"
  A.str(fn, 1, "path", path)
  local meta = A.call_as(fn, cnn.load, path)
  if type(meta) ~= "table" or type(meta.config) ~= "table" or type(meta.state) ~= "table" then
    A.error(("%s: %s is not an AMD model file (no config and state)"):format(fn, path))
  end
  local model = Mdl.model(meta.config)
  model:load_state_dict(meta.state)
  model.thresholds, model.snps, model.name, model.meta = {}, meta.snps or {}, meta.name, meta
  for k = 1, #model.cutoffs do
    model.thresholds[k] = cnn.is_tensor(meta.thresholds) and meta.thresholds[k] or NaN
  end
  return model:eval()
end

return M
