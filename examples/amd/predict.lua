-- Late-AMD risk for one person from one fundus photograph (and genotypes, age, smoking): each
-- cutoff's P(time to late AMD >= k years), the call at the model's Youden threshold, and a
-- saliency PNG. Missing genotypes are mean-imputed and said so. The logic is cnn.amd.predict,
-- which the web calculator calls too.
--
--   bin/cnn examples/amd/predict.lua --models out/demo/models --image eye.png --genotypes person.raw --age 72 --smoking former
local cnn = require "cnn"
local amd = cnn.amd
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local C = dofile(here .. "/common.lua")

local opts = cnn.cli.parse(arg, {
  description = "Predict the time to late AMD for one eye (cnn.amd.predict)",
  { "models", "out/demo/models", "folder of model files" },
  { "model", "", "which model (default: image+geno when --genotypes is given or it exists, else image)" },
  { "image", "", "the fundus photograph (PNG; JPEG when the library reads it)" },
  { "genotypes", "", "PLINK .raw file of the person (--recode A), first row used" },
  { "age", 0, "age at the photograph (0: unknown)" },
  { "smoking", "", "never | former | current" },
  { "saliency", "gradient", "gradient | smoothgrad | gradcam | none" },
  { "out", "", "saliency PNG (default: beside --image, <image>-saliency.png)" },
  { "threads", cnn.get_num_threads(), "threads" },
})
cnn.set_num_threads(opts.threads)
if opts.image == "" then error("--image is required (see --help)", 0) end

local names = C.model_files(opts.models)
local name = opts.model
if name == "" then
  local have = {}
  for _, n in ipairs(names) do have[n] = true end
  name = have["image+geno"] and "image+geno" or (have.image and "image" or names[1])
end
if not name then error("no model files in " .. opts.models, 0) end
local model = amd.load_model(("%s/%s.safetensors"):format(opts.models, name))
local png = opts.out ~= "" and opts.out or (opts.image:gsub("%.%w+$", "") .. "-saliency.png")
local r = amd.predict(model, {
  image = opts.image,
  genotypes = opts.genotypes ~= "" and opts.genotypes or nil,
  age = opts.age > 0 and opts.age or nil,
  smoking = opts.smoking ~= "" and opts.smoking or nil,
  saliency = opts.saliency ~= "none" and opts.saliency or false,
  saliency_png = opts.saliency ~= "none" and png or nil,
})
print(("model %s (%s design) for %s"):format(r.model, model.design, opts.image))
for _, n in ipairs(r.notes) do print("note: " .. n) end
print(("%-8s %-12s %-10s %s"):format("cutoff", "P(T >= k)", "threshold", "call"))
for k, c in ipairs(r.cutoffs) do
  print(("%-8s %-12.3f %-10.3f %s"):format(c .. " y", r.prob[k], r.threshold[k], r.call[k]))
end
if opts.saliency ~= "none" then print("saliency: " .. png) end
