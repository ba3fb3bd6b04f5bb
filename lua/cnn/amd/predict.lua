-- Prediction for one person, the function behind examples/amd/predict.lua and the web calculator:
-- one fundus photograph (and genotypes, age, smoking when the model uses them) -> for each cutoff
-- k, P(time to late AMD >= k), the call at the model's Youden threshold and a saliency map.
-- Missing genotypes are imputed with the training means and reported. Spec: spec/amd_predict_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local T = require "cnn.amd.train"
local S = require "cnn.amd.saliency"
local font = require "cnn.amd.font"

local M = {}
local NaN = 0 / 0
local SMOKING = { never = { 0, 0 }, former = { 1, 0 }, current = { 0, 1 } }

-- genotypes as a (1,52) tensor in the model's SNP order, and the names of the missing ones
local function genotypes(fn, model, g)
  local n = 52
  local snps = model.snps or {}
  local row = {}
  for j = 1, n do row[j] = NaN end
  if g == nil then
    -- nothing given: every SNP is imputed
  elseif type(g) == "string" then
    local r = A.call_as(fn, cnn.data.genotype.read_raw, g)
    local d = r.dosage[1]
    local col = {}
    for j, name in ipairs(r.variants) do col[name] = j end
    for j = 1, n do
      local name = snps[j]
      local c = name and col[name]
      if c == nil and #snps == 0 and r.dosage:size(2) == n then c = j end   -- no names kept: by position
      if c then row[j] = d[c] end
    end
  elseif cnn.is_tensor(g) then
    if g:numel() ~= n then A.fail(fn, 2, "genotypes", "52 allele counts", g) end
    row = g:double():reshape(-1):totable()
  elseif type(g) == "table" then
    if rawlen(g) == n then
      for j = 1, n do row[j] = rawget(g, j) end
    else
      for j = 1, n do local v = snps[j] and g[snps[j]]; if v ~= nil then row[j] = v end end
    end
  else
    A.fail(fn, 2, "genotypes", "a .raw path, a tensor or a table of 52 allele counts", g)
  end
  local missing = {}
  for j = 1, n do
    local v = row[j]
    if type(v) ~= "number" or v ~= v then row[j] = NaN; missing[#missing + 1] = snps[j] or ("snp " .. j) end
  end
  return cnn.tensor({ row }), missing
end

-- cnn.amd.predict(model, {image =, genotypes =, age =, smoking =, saliency = "gradient",
-- saliency_png =}) -> {model, cutoffs, prob, threshold, call, notes, imputed, saliency, image}.
-- model: a model or a model file; image: a path or a (3,H,W) tensor in [0,1]; genotypes: a PLINK
-- .raw file (its first person; columns matched by name), a tensor or list of the 52 counts in
-- cnn.amd.snps order, or a table name -> count; age: at the photograph; smoking: "never",
-- "former" or "current". call[i] is "at least k years" when prob > threshold, else "within k years".
-- saliency: a method of cnn.amd.saliency (false for none); saliency_png: a path for the figure.
function M.predict(model, opts)
  local fn = "cnn.amd.predict"
  if type(model) == "string" then model = T.load_model(model) end
  if type(model) ~= "table" or not model.cutoffs then A.fail(fn, 1, "model", "an AMD model or model file", model) end
  opts = A.opts(fn, 2, opts, { "image", "genotypes", "age", "smoking", "saliency", "saliency_png" })
  local notes = {}
  local x
  if model.uses_image then
    local img = opts.image
    if type(img) == "string" then img = A.call_as(fn, cnn.image.load, img)
    elseif not cnn.is_tensor(img) then A.fail(fn, 2, "image", "a path or a (3,H,W) tensor", img) end
    if img:dim() ~= 3 then A.fail(fn, 2, "image", "a (3,H,W) tensor", img) end
    x = T._prepare(img, model.image_size):unsqueeze(1)
  end
  local g, missing = genotypes(fn, model, opts.genotypes)
  if model.uses_geno and #missing > 0 then
    notes[#notes + 1] = #missing == 52 and "no genotypes given: all 52 SNPs imputed with the training means"
      or ("%d of 52 genotypes missing, imputed with the training means: %s"):format(#missing, table.concat(missing, " "))
  elseif not model.uses_geno and opts.genotypes ~= nil then
    notes[#notes + 1] = ("the %s model does not use genotypes"):format(model.name or model.design)
  end
  local cov = { NaN, NaN, NaN }
  if opts.age ~= nil then cov[1] = A.num(fn, 2, "age", opts.age, nil, 0, 150) end
  if opts.smoking ~= nil then
    local s = SMOKING[opts.smoking]
    if not s then A.fail(fn, 2, "smoking", '"never", "former" or "current"', opts.smoking) end
    cov[2], cov[3] = s[1], s[2]
  end
  if model.covariates then
    if cov[1] ~= cov[1] then notes[#notes + 1] = "age not given: the training mean used" end
    if cov[2] ~= cov[2] then notes[#notes + 1] = "smoking not given: the training proportions used" end
  end
  local c = cnn.tensor({ cov })
  c = cnn.where(c:ne(c), model.cov_mean:view(1, -1), c)
  local dt = model.img_mean:dtype()
  g, c = g:to(dt), c:to(dt)
  model:eval()
  local probs = cnn.no_grad(function() return model(x and x:to(dt), g, c) end):double()
  local r = { model = model.name or model.design, cutoffs = {}, prob = {}, threshold = {}, call = {},
              notes = notes, imputed = model.uses_geno and #missing or 0, saliency = {}, image = x and x[1] }
  for k, cut in ipairs(model.cutoffs) do
    r.cutoffs[k], r.prob[k] = cut, probs[1][k]
    local thr = model.thresholds and model.thresholds[k] or NaN
    r.threshold[k] = thr
    r.call[k] = thr ~= thr and "NA" or (r.prob[k] > thr and ("at least %d years"):format(cut) or ("within %d years"):format(cut))
  end
  local method = opts.saliency == nil and "gradient" or opts.saliency
  if method and model.uses_image then
    for k, cut in ipairs(model.cutoffs) do r.saliency[k] = S.saliency(model, x[1], cut, { geno = g, covariates = c, method = method }) end
    if opts.saliency_png then
      local size, tiles = model.image_size, { x[1] }
      local capt = { font.render("IMAGE", size, 12) }
      for k, cut in ipairs(model.cutoffs) do
        tiles[#tiles + 1] = cnn.image.overlay(x[1], r.saliency[k], 0.5)
        capt[#capt + 1] = font.render((">=%d:%.2f"):format(cut, r.prob[k]), size, 12)
      end
      for i = 1, #tiles do tiles[i] = cnn.cat({ tiles[i], capt[i] }, 2) end
      cnn.image.save(cnn.image.grid(tiles, #tiles), opts.saliency_png)
    end
  end
  return r
end

return M
