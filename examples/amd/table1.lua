-- The paper's Table 1 for a cohort in the layout of docs/amd.md ("The cohort"): subjects, age,
-- sex, smoking, follow-up, eyes by baseline severity and their progression, images labelled per
-- cutoff, for all subjects and for a train/test split by subject (1,223 / 1,351 as Yan et al.).
--
--   bin/cnn examples/amd/table1.lua --data DIR [--seed 1] [--test 0.0947]
--   bin/cnn examples/amd/table1.lua --simulate 1351 --data out/amd_cohort   # simulate first (no images)
local cnn = require "cnn"

local opts = cnn.cli.parse(arg, {
  description = "Print Table 1 (Markdown) of an AMD cohort folder: subjects.csv, visits.csv, genotypes, images",
  { "data", "", "the cohort's folder (required)" },
  { "seed", 1, "seed of the split by subject" },
  { "test", 128 / 1351, "share of the subjects in the test set (0: no split)" },
  { "simulate", 0, "first simulate a cohort of N subjects into --data (tables and genotypes, no images)" },
  { "check_images", true, "check that every image file exists" },
})
if opts.data == "" then
  io.stderr:write("table1.lua: --data DIR is required (see --help)\n")
  os.exit(2)
end
if opts.simulate > 0 then
  cnn.amd.simulate { subjects = opts.simulate, seed = opts.seed, out = opts.data, images = false }
  opts.check_images = false
end
local cohort = cnn.amd.cohort.load { dir = opts.data, check_images = opts.check_images }
local split
if opts.test > 0 then split = cnn.amd.split(cohort, { train = 1 - opts.test, test = opts.test }, opts.seed) end
io.write(cnn.amd.table1(cohort, split))
