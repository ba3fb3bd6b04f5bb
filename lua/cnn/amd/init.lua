-- cnn.amd: late age-related macular degeneration from fundus photographs and genotypes (Yan et al.
-- 2020). cnn.amd.data is the cohort (simulator, loader, labels, split, Table 1); cnn.amd.models the
-- networks, their training, evaluation, saliency and prediction; cnn.amd.calculator the web risk
-- calculator. docs/amd.md and docs/calculator.md are the reference.
return require "cnn._merge" ("cnn.amd", { "cnn.amd.data", "cnn.amd.models", "cnn.amd.calculator" })
