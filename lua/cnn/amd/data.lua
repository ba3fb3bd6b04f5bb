-- cnn.amd's cohort layer: the simulator (simulate.lua, model.lua, fundus.lua), the variants
-- (snps.lua), the loader, labels, split and Table 1 (cohort.lua). docs/amd.md, "The cohort".
local cohort = require "cnn.amd.cohort"
return {
  simulate = require("cnn.amd.simulate").simulate,
  snps = require "cnn.amd.snps",
  cohort = { load = cohort.load },
  label = cohort.label,
  times = cohort.times,
  labels = cohort.labels,
  split = cohort.split,
  table1 = cohort.table1,
}
