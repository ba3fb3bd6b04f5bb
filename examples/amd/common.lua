-- Shared by the AMD scripts (train, evaluate, saliency, predict, demo): the cohort split every
-- script recomputes from the settings kept in the model files, model names, folders.
local cnn = require "cnn"
local amd = cnn.amd
local C = {}

C.TEST = 128 / 1351                    -- the paper's split: 1,223 training and 128 test subjects

function C.mkdir(dir) os.execute(("mkdir -p '%s'"):format(dir:gsub("'", "'\\''"))) end

function C.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- the split by subject: {train = visit indices, test = ..., [val = ...]}
function C.split(cohort, s)
  local fr = { test = s.test, train = 1 - s.test - (s.val or 0) }
  if s.val and s.val > 0 then fr.val = s.val end
  return amd.split(cohort, fr, s.seed)
end

-- the name a model is saved under
function C.name(design, inputs)
  if design == "paper" then return inputs end
  return design
end

-- the model files of a folder, in the order image, image+geno, survival, geno, then the others
function C.model_files(dir)
  local files, order = {}, { image = 1, ["image+geno"] = 2, survival = 3, geno = 4 }
  local p = io.popen(("ls '%s' 2>/dev/null"):format(dir:gsub("'", "'\\''")))
  for f in p:lines() do
    local name = f:match("^(.+)%.safetensors$")
    if name and not name:match("^checkpoint") and not name:match("^features") then files[#files + 1] = name end
  end
  p:close()
  table.sort(files, function(a, b)
    local oa, ob = order[a] or 99, order[b] or 99
    if oa ~= ob then return oa < ob end
    return a < b
  end)
  return files
end

function C.cutoffs(s)
  if s == "all" then return { 2, 3, 4, 5, 6, 7 } end
  local k = math.tointeger(tonumber(s))
  if not k or k < 1 then error(("--cutoff expects a whole number of years or 'all', got '%s'"):format(s), 0) end
  return { k }
end

-- the key of a feature cache: the trunk's weights (a checksum), the image size, the split
function C.trunk_key(model, split)
  local names = {}
  local sd = model.trunk:state_dict()
  for k in pairs(sd) do names[#names + 1] = k end
  table.sort(names)
  local sum = 0
  for _, k in ipairs(names) do sum = sum + sd[k]:double():abs():sum():item() end
  return ("%.15g|%d|%s|%s|%s|%s"):format(sum, model.image_size, model.img_mean[1], split.seed, split.test, split.val or 0)
end

-- the cached features of a data set's images for a model's trunk: <models>/cache/features-<trunk>-<part>
function C.features(model, set, models_dir, trunk_name, part, split)
  C.mkdir(models_dir .. "/cache")
  local t0 = C.now()
  local f = cnn.amd.features(model, set, { cache = ("%s/cache/features-%s-%s.safetensors"):format(models_dir, trunk_name, part),
                                           key = C.trunk_key(model, split), desc = ("features (%s)"):format(part) })
  print(("features of %d %s images: %.1f s"):format(set.n, part, C.now() - t0))
  return f
end

local now = os.time
do local ok, system = pcall(require, "system"); if ok then now = system.gettime end end
C.now = now

return C
