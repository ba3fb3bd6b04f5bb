-- Saliency grids like the paper's Figs 2-4: for each chosen eye, one row per visit (visit year,
-- time to late AMD or to censoring "+"), the image, then one overlay per cutoff captioned
-- "true label / predicted probability" (NA when missing), the Youden threshold in the header.
-- Writes --out/saliency-<SUBJECT>-<EYE>.png and a .txt legend beside it.
--
--   bin/cnn examples/amd/saliency.lua --data out/demo/cohort --models out/demo/models --eyes S0007:L,S0112:R
--   bin/cnn examples/amd/saliency.lua ... --auto    # three test eyes: one progresses, one censored late, one already late
local cnn = require "cnn"
local amd = cnn.amd
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local C = dofile(here .. "/common.lua")

local opts = cnn.cli.parse(arg, {
  description = "Saliency grids of an AMD model for chosen eyes (one row per visit, one overlay per cutoff)",
  { "data", "out/demo/cohort", "cohort folder" },
  { "models", "out/demo/models", "folder of model files" },
  { "model", "", "which model (default: image+geno, else the first image model)" },
  { "eyes", "", "SUBJECT:EYE,... (e.g. S0007:L,S0112:R)" },
  { "auto", false, "choose three test eyes: one that progresses, one censored late, one already late" },
  { "method", "gradient", "gradient (the authors' |d output / d pixel|) | smoothgrad | gradcam" },
  { "max_visits", 8, "at most this many visits per eye (evenly spaced)" },
  { "out", "out/demo", "output folder" },
  { "threads", cnn.get_num_threads(), "threads" },
})
cnn.set_num_threads(opts.threads)

local names = C.model_files(opts.models)
local name = opts.model
if name == "" then
  for _, n in ipairs(names) do if n == "image+geno" then name = n end end
  if name == "" then for _, n in ipairs(names) do if n ~= "geno" then name = n; break end end end
end
if name == "" then error("no image model in " .. opts.models, 0) end
local model = amd.load_model(("%s/%s.safetensors"):format(opts.models, name))
if not model.uses_image then error(name .. " uses no images", 0) end
local cohort = amd.cohort.load { dir = opts.data }

-- visits of each eye in time order
local by_eye = {}
for i, v in ipairs(cohort.visits) do
  local key = v.subject .. ":" .. v.eye
  by_eye[key] = by_eye[key] or {}
  table.insert(by_eye[key], i)
end
for _, list in pairs(by_eye) do table.sort(list, function(a, b) return cohort.visits[a].years < cohort.visits[b].years end) end

local eyes = {}
if opts.auto then
  -- among the test subjects: an eye that turns late after its first visit, one never late with
  -- the longest follow-up (censored late), one late at its first visit
  local sp = C.split(cohort, model.meta.split)
  local test = {}
  for _, s in ipairs(sp.subjects.test) do test[s] = true end
  local keys = {}
  for k in pairs(by_eye) do keys[#keys + 1] = k end
  table.sort(keys)
  local progress, censored, late, best, soonest = nil, nil, nil, -1, math.huge
  local function first_late(list)
    for _, i in ipairs(list) do if cohort.visits[i].late then return cohort.visits[i].years - cohort.visits[list[1]].years end end
  end
  for _, k in ipairs(keys) do
    local list = by_eye[k]
    local first, last = cohort.visits[list[1]], cohort.visits[list[#list]]
    if test[first.subject] then
      if first.late then late = late or k
      elseif last.late then
        if not progress or #list > #by_eye[progress] then progress = k end
      elseif last.years - first.years > best then censored, best = k, last.years - first.years end
    end
  end
  -- no eye late from its first visit: the one that turned late soonest (most of its visits late)
  if not late then
    for _, k in ipairs(keys) do
      local list = by_eye[k]
      local t = test[cohort.visits[list[1]].subject] and k ~= progress and first_late(list)
      if t and t < soonest then late, soonest = k, t end
    end
  end
  for _, k in ipairs({ progress, censored, late }) do if k then eyes[#eyes + 1] = k end end
else
  for e in opts.eyes:gmatch("[^,]+") do eyes[#eyes + 1] = e end
end
if #eyes == 0 then error("no eyes given: --eyes SUBJECT:EYE,... or --auto", 0) end

C.mkdir(opts.out)
for _, key in ipairs(eyes) do
  local list = by_eye[key]
  if not list then error(("no visits of eye %s in %s"):format(key, opts.data), 0) end
  if #list > opts.max_visits then                                -- evenly spaced, first and last kept
    local keep = {}
    for j = 1, opts.max_visits do keep[j] = list[1 + math.floor((j - 1) * (#list - 1) / (opts.max_visits - 1) + 0.5)] end
    list = keep
  end
  local set = amd.dataset(cohort, list, { cutoffs = model.cutoffs, image_size = model.image_size, desc = "loading " .. key })
  local rows = {}
  for j = 1, set.n do rows[j] = j end
  local path = ("%s/saliency-%s.png"):format(opts.out, key:gsub(":", "-"))
  amd.saliency_figure(model, set, rows, path, { method = opts.method })
  print(("%s (%s, %s, %d visits): %s"):format(key, name, opts.method, set.n, path))
end
