-- make demo: the AMD pipeline end to end on a simulated cohort sized for a few minutes on 2 cores.
-- Simulates the cohort (cnn.amd.simulate), trains image, image+geno, survival and geno on the
-- small trunk for all cutoffs (examples/amd/train.lua), evaluates them with the oracle
-- (evaluate.lua), draws saliency grids for three test eyes (saliency.lua), prints the averaged
-- AUCs and checks what the simulator's genetic effects must show: image+geno above image, every
-- model below the oracle. Models go to out/demo/models/, everything else to out/demo/.
--
--   bin/cnn examples/amd/demo.lua [--subjects 400] [--epochs 6] [--out out/demo]
local cnn = require "cnn"
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local C = dofile(here .. "/common.lua")

local opts = cnn.cli.parse(arg, {
  description = "The AMD pipeline on a simulated cohort: simulate, train four models, evaluate, saliency",
  { "subjects", 300, "subjects in the simulated cohort" },
  { "sim_image_size", 64, "size of the simulated photographs" },
  { "image_size", 64, "size the small trunk sees" },
  { "epochs", 3, "passes over the training images for the trunk" },
  { "width", 0.5, "channel multiplier of the small trunk (0.5: 8-16-32-32 channels)" },
  { "test", 0.25, "fraction of subjects held out (the paper's 128/1351 is too few for a small cohort)" },
  { "val", 0.15, "fraction of subjects for early stopping and thresholds" },
  { "n_boot", 500, "bootstrap replicates" },
  { "seed", 1, "seed of the cohort, the weights and the split" },
  { "out", "out/demo", "output folder (models in <out>/models)" },
  { "threads", cnn.get_num_threads(), "threads" },
})
local lua = arg[-1] or "lua5.4"
local bin = here .. "/../../bin/cnn"
local models = opts.out .. "/models"
local cohort = opts.out .. "/cohort"
local times = {}

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function run(stage, script, args)
  local cmd = { bin, here .. "/" .. script }
  for _, a in ipairs(args) do cmd[#cmd + 1] = q(a) end
  cmd[#cmd + 1] = "--threads"; cmd[#cmd + 1] = tostring(opts.threads)
  print(("\n== %s: %s"):format(stage, table.concat(cmd, " ")))
  local t0 = C.now()
  local ok = os.execute(table.concat(cmd, " "))
  if not ok then error(("%s failed"):format(stage), 0) end
  times[#times + 1] = { stage, C.now() - t0 }
end

local t_start = C.now()
C.mkdir(models)

-- 1. the cohort (kept when the folder already holds one made with the same settings)
local stamp = ("%d %d %d"):format(opts.subjects, opts.sim_image_size, opts.seed)
local f = io.open(cohort .. "/.demo-settings")
local have = f and f:read("l")
if f then f:close() end
if have ~= stamp or not C.exists(cohort .. "/visits.csv") then
  print(("== simulating %d subjects (%dx%d photographs) into %s"):format(opts.subjects, opts.sim_image_size, opts.sim_image_size, cohort))
  local t0 = C.now()
  os.execute("rm -rf " .. q(cohort))
  local s = cnn.amd.simulate { subjects = opts.subjects, seed = opts.seed, out = cohort, image_size = opts.sim_image_size }
  local w = assert(io.open(cohort .. "/.demo-settings", "w"))
  w:write(stamp, "\n"); w:close()
  times[#times + 1] = { "simulate", C.now() - t0 }
  if type(s) == "table" and s.visits then print(("%s visits"):format(s.visits)) end
else
  print("== the cohort in " .. cohort .. " is reused")
end

-- 2. the four models
local common = { "--data", cohort, "--out", models, "--seed", opts.seed, "--test", opts.test, "--val", opts.val,
                 "--image-size", opts.image_size, "--width", opts.width }
local function with(t)
  local out = table.move(common, 1, #common, 1, {})
  for _, v in ipairs(t) do out[#out + 1] = v end
  return out
end
run("train image", "train.lua", with { "--design", "paper", "--inputs", "image", "--epochs", opts.epochs })
local trunk = models .. "/image.safetensors"
run("train image+geno", "train.lua", with { "--design", "paper", "--inputs", "image+geno", "--trunk", trunk })
run("train survival", "train.lua", with { "--design", "survival", "--trunk", trunk })
run("train geno", "train.lua", with { "--design", "geno" })

-- 3. evaluation and 4. saliency
run("evaluate", "evaluate.lua", { "--data", cohort, "--models", models, "--out", opts.out, "--n-boot", opts.n_boot })
run("saliency", "saliency.lua", { "--data", cohort, "--models", models, "--out", opts.out, "--auto" })

-- the results and the checks
local res = cnn.data.csv.read(opts.out .. "/results.csv", { numeric = false })
local mean = {}
for i = 1, res.nrows do
  if res.columns.cutoff[i] == "mean" then mean[res.columns.model[i]] = tonumber(res.columns.auc[i]) end
end
print("\n== averaged AUC over the cutoffs 2..7 years (test subjects)")
for _, m in ipairs({ "image", "image+geno", "survival", "geno", "oracle" }) do
  if mean[m] then print(("  %-12s %.3f"):format(m, mean[m])) end
end
print("\n== time per stage")
for _, t in ipairs(times) do print(("  %-18s %6.1f s"):format(t[1], t[2])) end
print(("  %-18s %6.1f s"):format("total", C.now() - t_start))
print(("\nfiles: %s/{results.md, results.csv, predictions.csv, roc.svg, calibration.svg, saliency-*.png}, models in %s"):format(opts.out, models))

local problems = {}
if not (mean["image+geno"] and mean.image and mean["image+geno"] > mean.image) then
  problems[#problems + 1] = "image+geno does not beat image on the averaged AUC"
end
if mean.oracle then
  for _, m in ipairs({ "image", "image+geno", "survival", "geno" }) do
    if mean[m] and mean[m] >= mean.oracle then problems[#problems + 1] = m .. " is not below the oracle" end
  end
end
if #problems > 0 then
  io.stderr:write("demo check failed: " .. table.concat(problems, "; ") .. "\n")
  os.exit(1)
end
print("check: image+geno beats image, every model stays below the oracle")
