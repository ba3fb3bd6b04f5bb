-- cnn.amd.simulate{...}: writes a simulated AREDS-shaped cohort (subjects.csv, visits.csv,
-- genotypes.raw/.bed/.bim/.fam, truth.csv, images/) from the model of lua/cnn/amd/model.lua and
-- the fundus renderer of lua/cnn/amd/fundus.lua. Same seed, same bytes. Spec:
-- spec/amd_simulate_spec.lua; the layout and the model are in docs/amd.md.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local model = require "cnn.amd.model"
local fundus = require "cnn.amd.fundus"
local snps = require "cnn.amd.snps"
local progress = require "cnn.progress"
local S = {}

local FN = "cnn.amd.simulate"
local TREES = 64              -- vessel trees per cohort (fundus.tree), shared out among the eyes

local function write(path, text) A.call_as(FN, cnn._file.write, path, text, "amd.simulate") end

local has_lfs, lfs = pcall(require, "lfs")
local function mkdir(path)
  if not (has_lfs and (lfs.attributes(path, "mode") == "directory" or lfs.mkdir(path))) then
    os.execute(("mkdir -p '%s'"):format(path:gsub("'", "'\\''")))
  end
  local probe = path .. "/.cnn_amd_probe"
  local f = io.open(probe, "w")
  if not f then A.error(("%s: cannot create the folder '%s'"):format(FN, path)) end
  f:close(); os.remove(probe)
end

-- centi-years -> "1.07"
local function years(t) return ("%d.%02d"):format(t // 100, t % 100) end

function S.simulate(opts)
  A.table(FN, 1, "options", opts, "an options table")
  opts = A.opts(FN, 1, opts, { "subjects", "seed", "out", "image_size", "images", "format", "progress" })
  local n = A.int(FN, 1, "subjects", opts.subjects, 1, 1351)
  local seed = A.int(FN, 1, "seed", opts.seed, nil, 1)
  local out = A.str(FN, 1, "out", opts.out)
  local size = A.int(FN, 1, "image_size", opts.image_size, 8, 256)
  local images = A.bool(FN, 1, "images", opts.images, true)
  local format = A.str(FN, 1, "format", opts.format, "png")
  if format ~= "png" and format ~= "jpeg" then A.fail(FN, 1, "format", '"png" or "jpeg"', format) end
  local show = A.bool(FN, 1, "progress", opts.progress, true)
  local ext = format == "jpeg" and "jpg" or "png"

  local cohort = model.cohort(n, seed)
  mkdir(out)
  if images then mkdir(out .. "/images") end

  -- subjects.csv, visits.csv, truth.csv
  local subj, vis, truth = { "subject,age,sex,smoking" }, { "subject,eye,visit_years,image,severity,late" },
                           { "image,p2,p3,p4,p5,p6,p7" }
  local jobs = {}
  for _, s in ipairs(cohort) do
    subj[#subj + 1] = ("%s,%.1f,%s,%s"):format(s.id, s.age, s.sex, s.smoking)
    for k, t in ipairs(s.times) do
      for _, e in ipairs(s.eyes) do
        local v = e.visits[k]
        local img = ("images/%s/%s_%s_%02d.%s"):format(s.id, s.id, e.eye, k, ext)
        vis[#vis + 1] = ("%s,%s,%s,%s,%d,%d"):format(s.id, e.eye, years(t), img, v.severity, v.late and 1 or 0)
        local p = {}
        for c = 1, 6 do p[c] = ("%.6f"):format(v.truth[c]) end
        truth[#truth + 1] = img .. "," .. table.concat(p, ",")
        jobs[#jobs + 1] = { s = s, e = e, v = v, path = out .. "/" .. img }
      end
    end
  end
  write(out .. "/subjects.csv", table.concat(subj, "\n") .. "\n")
  write(out .. "/visits.csv", table.concat(vis, "\n") .. "\n")
  write(out .. "/truth.csv", table.concat(truth, "\n") .. "\n")

  -- genotypes: PLINK --recode A text, and .bed/.bim/.fam
  local head = { "FID", "IID", "PAT", "MAT", "SEX", "PHENOTYPE" }
  for _, v in ipairs(snps) do head[#head + 1] = v.id .. "_" .. v.allele end
  local raw, fam = { table.concat(head, " ") }, {}
  for _, s in ipairs(cohort) do
    local sex = s.sex == "M" and 1 or 2
    raw[#raw + 1] = ("%s %s 0 0 %d -9 %s"):format(s.id, s.id, sex, table.concat(s.geno, " "))
    fam[#fam + 1] = ("%s %s 0 0 %d -9"):format(s.id, s.id, sex)
  end
  write(out .. "/genotypes.raw", table.concat(raw, "\n") .. "\n")
  local dosage, ids = {}, {}
  for i, s in ipairs(cohort) do dosage[i], ids[i] = s.geno, s.id end
  local g = { dosage = cnn.tensor(dosage, "float64"), samples = ids, variants = {}, a1 = {}, a2 = {}, chr = {}, pos = {} }
  for j, v in ipairs(snps) do g.variants[j], g.a1[j], g.a2[j], g.chr[j], g.pos[j] = v.id, v.allele, v.other, v.chr, v.pos end
  A.call_as(FN, cnn.data.genotype.write_bed, out .. "/genotypes", g)
  write(out .. "/genotypes.fam", table.concat(fam, "\n") .. "\n")     -- again, with the subjects' sex

  -- images: one folder per subject, one anatomy per eye, one render per visit; pixel noise from
  -- cnn's generator, seeded per image and restored afterwards; one thread (tiny ops: threads only
  -- add overhead); the files' fsyncs are deferred to one sync at the end (cnn._file.defer_sync)
  if images then
    local state, threads = cnn.get_rng_state(), cnn.get_num_threads()
    cnn.set_num_threads(1)
    local deferred = cnn._file.defer_sync(true)
    local bar = show and progress.bar(#jobs, { desc = "fundus images" }) or nil
    local ok, err = pcall(function()
      local anat, cur, trees = {}, nil, {}
      for i, job in ipairs(jobs) do
        if job.s ~= cur then anat, cur = {}, job.s; mkdir(out .. "/images/" .. job.s.id) end
        local key = job.e.eye
        if not anat[key] then
          local r = model.stream(seed, 2, tonumber(job.s.id:sub(2)), key == "L" and 1 or 2)
          local t = r.int(TREES)
          trees[t] = trees[t] or fundus.tree(model.stream(seed, 5, t))
          anat[key] = fundus.anatomy(r, trees[t])
        end
        local r = model.stream(seed, 3, i)
        cnn.manual_seed(model.stream(seed, 4, i).next() & 0x7fffffffffff)
        local img = fundus.render(anat[key], job.e.eye, job.v, size, r)
        cnn.image.save(img, job.path)
        if bar then bar:update(1) end
      end
    end)
    cnn.set_num_threads(threads)
    cnn.set_rng_state(state)
    cnn._file.defer_sync(deferred)
    if bar then bar:close() end
    if not ok then error(err, 0) end
  end

  local eyes, late = 0, 0
  for _, s in ipairs(cohort) do
    for _, e in ipairs(s.eyes) do
      eyes = eyes + 1
      if e.visits[#e.visits].late then late = late + 1 end
    end
  end
  return { dir = out, subjects = n, eyes = eyes, visits = #jobs, images = images and #jobs or 0, late_eyes = late, seed = seed }
end

return S
