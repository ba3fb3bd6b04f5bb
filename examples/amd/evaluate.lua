-- Evaluates every model file of --models on the test subjects of the cohort (the split the
-- models were trained with, recomputed from their files) and writes, under --out:
-- predictions.csv, results.csv, results.md, roc.svg, calibration.svg. The simulator's truth.csv,
-- when present, is evaluated as the model "oracle".
--
--   bin/cnn examples/amd/evaluate.lua --data out/demo/cohort --models out/demo/models --out out/demo
local cnn = require "cnn"
local amd = cnn.amd
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local C = dofile(here .. "/common.lua")

local opts = cnn.cli.parse(arg, {
  description = "Evaluate AMD models on the test subjects (AUC with DeLong and subject-bootstrap CIs, Youden thresholds)",
  { "data", "out/demo/cohort", "cohort folder" },
  { "models", "out/demo/models", "folder of model files (train.lua's --out)" },
  { "out", "out/demo", "folder for predictions.csv, results.csv, results.md, roc.svg, calibration.svg" },
  { "n_boot", 2000, "bootstrap replicates (subjects resampled)" },
  { "seed", 1, "seed of the bootstrap" },
  { "oracle", true, "evaluate the simulator's truth.csv as the model 'oracle' when the cohort has one" },
  { "threads", cnn.get_num_threads(), "threads for OpenBLAS and the library's kernels" },
})
cnn.set_num_threads(opts.threads)
local t_start = C.now()
local names = C.model_files(opts.models)
if #names == 0 then error(("no model files in %s (train some with examples/amd/train.lua)"):format(opts.models), 0) end

local cohort = amd.cohort.load { dir = opts.data }
local models, split_cfg = {}, nil
for i, name in ipairs(names) do
  local m = amd.load_model(("%s/%s.safetensors"):format(opts.models, name))
  local s = m.meta.split
  if split_cfg and (s.seed ~= split_cfg.seed or s.test ~= split_cfg.test or (s.val or 0) ~= (split_cfg.val or 0)) then
    error(("%s was trained on another split (seed %s, test %s) than %s"):format(name, s.seed, s.test, names[1]), 0)
  end
  split_cfg = s
  models[i] = m
end
local sp = C.split(cohort, split_cfg)

-- the test set once per image size; features once per trunk (models sharing one reuse them)
local sets, feats = {}, {}
local rows, thresholds = {}, {}
local all_cut = { 2, 3, 4, 5, 6, 7 }
for i, m in ipairs(models) do
  local name = names[i]
  local size = m.uses_image and m.image_size or 0
  local key = size .. "|" .. table.concat(m.cutoffs, ",")
  if not sets[key] then
    sets[key] = amd.dataset(cohort, sp.test, { cutoffs = m.cutoffs, image_size = m.image_size, images = m.uses_image,
                                               preload = false })        -- read once, when features are computed
  end
  local set = sets[key]
  set.features = nil
  if m.uses_image then
    local trunk = (m.meta.trunk_from or "") ~= "" and m.meta.trunk_from:match("([^/]+)%.safetensors$") or name
    local fkey = trunk .. "|" .. key
    feats[fkey] = feats[fkey] or C.features(m, set, opts.models, trunk, "test", split_cfg)
    set.features = feats[fkey]
  end
  local probs = amd.predict_set(m, set)
  for _, r in ipairs(amd.prediction_rows(name, set, probs)) do rows[#rows + 1] = r end
  thresholds[name] = {}
  for k, c in ipairs(m.cutoffs) do thresholds[name][c] = m.thresholds[k] end
end
if opts.oracle and cohort.truth then
  local set = amd.dataset(cohort, sp.test, { cutoffs = all_cut, images = false })
  local probs = amd.oracle_probs(cohort, set)
  for _, r in ipairs(amd.prediction_rows("oracle", set, probs)) do rows[#rows + 1] = r end
end

local results = amd.evaluate(rows, { thresholds = thresholds, n_boot = opts.n_boot, seed = opts.seed })
local paths = amd.write_evaluation(opts.out, rows, results)
print(("\ntest set: %d subjects, %d images"):format(#sp.subjects.test, #sp.test))
print(amd.results_markdown(results))
print("averaged AUC over the cutoffs (the paper's headline figure):")
for _, r in ipairs(results) do
  if r.cutoff == "mean" then print(("  %-12s %.3f"):format(r.model, r.auc)) end
end
print(("wrote %s (%.1f s)"):format(table.concat(paths, ", "), C.now() - t_start))
