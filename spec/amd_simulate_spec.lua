-- cnn.amd.simulate: the statistics of a large cohort without images against the paper's Table 1
-- (mission.md), computed here from the files themselves; the truth's calibration; genotype files
-- (.raw and .bed agree, frequencies); the same seed gives the same bytes; the images.
local cnn = require "cnn"
local H = require "spec.helpers"
local amd = cnn.amd

local made = {}                             -- the folders written, removed at the end
local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  made[#made + 1] = d
  return d
end
local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a"); f:close()
  return s
end
local function rows(path)
  local out, head = {}, nil
  for line in slurp(path):gmatch("[^\n]+") do
    local f = {}
    for x in (line .. ","):gmatch("([^,]*),") do f[#f + 1] = x end
    if not head then head = f else
      local r = {}
      for j, name in ipairs(head) do r[name] = f[j] end
      out[#out + 1] = r
    end
  end
  return out
end
local function mean_sd(xs)
  local s, s2 = 0, 0
  for _, x in ipairs(xs) do s = s + x end
  local m = s / #xs
  for _, x in ipairs(xs) do s2 = s2 + (x - m) ^ 2 end
  return m, math.sqrt(s2 / (#xs - 1))
end

describe("cnn.amd.simulate", function()
  local dir = tmpdir()
  local N = 2000
  local summary = amd.simulate { subjects = N, seed = 11, out = dir, images = false, progress = false }
  local VIS                                  -- visits.csv's rows, read once
  local function visits() VIS = VIS or rows(dir .. "/visits.csv"); return VIS end
  -- busted keeps this block's upvalues to the end of the run: a big heap left here would slow the
  -- collector's pace for the specs that follow (memory_spec measures it)
  teardown(function()
    VIS = nil; collectgarbage(); collectgarbage()
    for _, d in ipairs(made) do os.execute("rm -rf '" .. d .. "'") end
  end)

  it("reproduces Table 1: age, sex, smoking, follow-up", function()
    assert.same({ dir, N, 11, 0 }, { summary.dir, summary.subjects, summary.seed, summary.images })
    local subj = rows(dir .. "/subjects.csv")
    assert.equal(N, #subj)
    local ages, female, smk = {}, 0, { never = 0, former = 0, current = 0 }
    for _, s in ipairs(subj) do
      local a = tonumber(s.age)
      assert(a >= 55 and a <= 80, "age out of AREDS' 55-80: " .. s.age)
      ages[#ages + 1] = a
      if s.sex == "F" then female = female + 1 else assert.equal("M", s.sex) end
      smk[s.smoking] = smk[s.smoking] + 1
    end
    local m, sd = mean_sd(ages)
    assert.near(68.8, m, 0.4); assert.near(5.0, sd, 0.3)
    assert.near(55.5, 100 * female / N, 3)
    assert.near(46.3, 100 * smk.never / N, 3); assert.near(46.9, 100 * smk.former / N, 3); assert.near(6.7, 100 * smk.current / N, 1.5)
    local last = {}
    for _, v in ipairs(visits()) do last[v.subject] = math.max(last[v.subject] or 0, tonumber(v.visit_years)) end
    local fu = {}
    for _, t in pairs(last) do fu[#fu + 1] = t end
    m, sd = mean_sd(fu)
    assert.near(10.3, m, 0.3); assert.near(1.6, sd, 0.3)
    for _, t in ipairs(fu) do assert(t <= 12, "follow-up past 12 years") end
  end)

  it("reproduces Table 1: eyes by baseline group, progression, labelled images per cutoff", function()
    local eyes, order = {}, {}
    local vis = visits()
    for _, v in ipairs(vis) do
      local k = v.subject .. v.eye
      if not eyes[k] then eyes[k] = { base = tonumber(v.severity), years = {} }; order[#order + 1] = k end
      local e = eyes[k]
      e.years[#e.years + 1] = tonumber(v.visit_years)
      e.last = tonumber(v.visit_years)
      if v.late == "1" and not e.late then e.late = tonumber(v.visit_years) end
      assert.equal(v.late == "1", tonumber(v.severity) >= 10)
    end
    assert.equal(summary.eyes, #order)
    assert.near(2 * N * 2678 / 2702, #order, 15)               -- a few subjects with one eye, as AREDS
    local n, prog, bases = { 0, 0, 0 }, { 0, 0, 0 }, {}
    for _, k in ipairs(order) do
      local e = eyes[k]
      assert(e.base >= 1 and e.base <= 8, "baseline outside 1-8")
      bases[#bases + 1] = e.base
      local g = e.base <= 3 and 1 or e.base <= 6 and 2 or 3
      n[g] = n[g] + 1
      if e.late then prog[g] = prog[g] + 1 end
    end
    local E = #order
    assert.near(53.8, 100 * n[1] / E, 2.5); assert.near(22.5, 100 * n[2] / E, 2.5); assert.near(23.7, 100 * n[3] / E, 2.5)
    assert.near(3.9, (mean_sd(bases)), 0.3)
    assert.near(3.5, 100 * prog[1] / n[1], 1.5); assert.near(50, 100 * prog[2] / n[2], 5); assert.near(92, 100 * prog[3] / n[3], 3)
    -- images per eye as AREDS' 31,262 / 2,678 = 11.7, give or take a visit
    assert.near(11.7, #vis / E, 1.2)
    -- labelled images at cutoffs 2 and 7 (the rule by hand): down by about a third (27,499 -> 18,066)
    local lab = { 0, 0 }
    for _, v in ipairs(vis) do
      local e, y = eyes[v.subject .. v.eye], tonumber(v.visit_years)
      for j, k in ipairs({ 2, 7 }) do
        if e.late or e.last - y >= k - 1e-9 then lab[j] = lab[j] + 1 end
      end
    end
    assert.near(18066 / 27499, lab[2] / lab[1], 0.05)
    assert.near(27499 / 31262, lab[1] / #vis, 0.05)
    local _, counts = amd.labels(amd.cohort.load { dir = dir, check_images = false })
    assert.same({ lab[1], lab[2] }, { counts[1].images, counts[6].images })
  end)

  it("writes the truth: 0 when late, calibrated against the labels of fully followed images", function()
    local truth, last = {}, {}
    for _, r in ipairs(rows(dir .. "/truth.csv")) do truth[r.image] = r end
    local vis = visits()
    local late = {}
    for _, v in ipairs(vis) do
      local k = v.subject .. v.eye
      last[k] = tonumber(v.visit_years)
      if v.late == "1" and not late[k] then late[k] = tonumber(v.visit_years) end
    end
    for _, k in ipairs({ 2, 5, 7 }) do
      local n, sl, st = 0, 0, 0
      for _, v in ipairs(vis) do
        local key, y, p = v.subject .. v.eye, tonumber(v.visit_years), tonumber(truth[v.image]["p" .. k])
        assert(p >= 0 and p <= 1)
        if v.late == "1" then assert.equal(0, p) end
        -- followed k years (drop-out only, which is independent of the disease): the label is known
        if last[key] - y >= k - 1e-9 then
          n = n + 1
          st = st + p
          sl = sl + ((late[key] and late[key] - y < k - 1e-9) and 0 or 1)
        end
      end
      assert.near(sl / n, st / n, 0.01)
    end
  end)

  it("writes genotypes as PLINK .raw and .bed/.bim/.fam that agree, with the variants' frequencies", function()
    local G = cnn.data.genotype
    local raw, bed = G.read_raw(dir .. "/genotypes.raw"), G.read_bed(dir .. "/genotypes")
    assert.same({ N, 52 }, raw.dosage:size())
    H.close(raw.dosage, bed.dosage, 0)
    assert.same(raw.samples, bed.samples)
    assert.equal("S0001", raw.samples[1])
    local snps = amd.snps
    assert.equal(52, #snps)
    local freq = raw.dosage:mean(1):div(2)
    for j, v in ipairs(snps) do
      assert.equal(v.id .. "_" .. v.allele, raw.variants[j])
      assert.equal(v.id, bed.variants[j]); assert.equal(v.allele, bed.a1[j])
      assert(v.freq < 0.5, v.id .. ": the counted allele is the minor one")
      assert.near(v.freq, freq[j], 4 * math.sqrt(v.freq * (1 - v.freq) / (2 * N)) + 1e-3)
    end
    -- two variants of large effect (CFH, ARMS2), many small
    local big = 0
    for _, v in ipairs(snps) do if math.abs(v.effect) >= 0.6 and v.freq > 0.1 then big = big + 1 end end
    assert.equal(2, big)
  end)

  it("writes a .bed set that plink1.9 turns back into the same .raw", function()
    if os.execute("command -v plink1.9 >/dev/null 2>&1") ~= true then
      print("\n  skipped: plink1.9 is not installed (sh scripts/install-deps.sh installs it)")
      return
    end
    local d = tmpdir()
    amd.simulate { subjects = 30, seed = 6, out = d, images = false }
    local cmd = ("plink1.9 --bfile %s/genotypes --keep-allele-order --recode A --out %s/plink >/dev/null 2>&1"):format(d, d)
    assert.is_true(os.execute(cmd) == true, "plink1.9 failed on the written files")
    local mine, theirs = {}, {}
    for l in slurp(d .. "/genotypes.raw"):gmatch("[^\n]+") do mine[#mine + 1] = l end
    for l in slurp(d .. "/plink.raw"):gmatch("[^\n]+") do theirs[#theirs + 1] = l end
    assert.equal(31, #theirs)
    assert.equal(mine[1], theirs[1])                                 -- the header: rsID_allele
    for i = 2, #mine do assert.equal(mine[i], theirs[i]) end         -- FID IID 0 0 sex -9 counts
  end)

  it("defers the images' fsyncs and restores the setting (cnn._file.defer_sync)", function()
    assert.is_false(cnn._file.defer_sync(true))
    assert.is_true(cnn._file.defer_sync(false))
    amd.simulate { subjects = 1, seed = 1, out = tmpdir(), image_size = 16, progress = false }
    assert.is_false(cnn._file.defer_sync(false))
  end)

  it("gives the same bytes for the same seed, other bytes for another; images included", function()
    local a, b, c = tmpdir(), tmpdir(), tmpdir()
    amd.simulate { subjects = 3, seed = 4, out = a, image_size = 24, progress = false }
    amd.simulate { subjects = 3, seed = 4, out = b, image_size = 24, progress = false }
    amd.simulate { subjects = 3, seed = 5, out = c, image_size = 24, progress = false }
    local vis = rows(a .. "/visits.csv")
    local files = { "subjects.csv", "visits.csv", "truth.csv", "genotypes.raw", "genotypes.bed", "genotypes.bim", "genotypes.fam" }
    for _, v in ipairs(vis) do files[#files + 1] = v.image end
    for _, f in ipairs(files) do assert(slurp(a .. "/" .. f) == slurp(b .. "/" .. f), f .. " differs between two runs") end
    assert.are_not.equal(slurp(a .. "/visits.csv"), slurp(c .. "/visits.csv"))
    -- images=false writes the same tables
    local d = tmpdir()
    amd.simulate { subjects = 3, seed = 4, out = d, images = false }
    assert.equal(slurp(a .. "/visits.csv"), slurp(d .. "/visits.csv"))
    assert.equal(slurp(a .. "/truth.csv"), slurp(d .. "/truth.csv"))
  end)

  it("draws fundus images: a round field, the optic disc on the nasal side, mirrored for left eyes", function()
    local d = tmpdir()
    local s = amd.simulate { subjects = 4, seed = 2, out = d, image_size = 64, progress = false }
    local c = amd.cohort.load { dir = d }
    assert.equal(s.visits, #c.visits)
    local side = { L = 0, R = 0 }
    for i = 1, #c.visits, 3 do
      local v = c.visits[i]
      local img = cnn.image.load(v.image)
      assert.same({ 3, 64, 64 }, img:size())
      assert(img[1][1][1] < 0.05, "corners are black")
      local r = img[1]:narrow(1, 16, 32)
      assert(r:mean():item() > img[3]:narrow(1, 16, 32):mean():item(), "reddish-orange: red above blue")
      -- the disc: the brightest band of green, on the right of a right eye and the left of a left eye
      local g = img[2]:narrow(1, 24, 16)
      local left, right = g:narrow(2, 5, 14):mean():item(), g:narrow(2, 46, 14):mean():item()
      side[v.eye] = side[v.eye] + (right > left and 1 or -1)
    end
    assert(side.R > 0 and side.L < 0, ("disc sides: R %d, L %d"):format(side.R, side.L))
  end)

  it("writes JPEG photographs with format = \"jpeg\"", function()
    local d = tmpdir()
    amd.simulate { subjects = 1, seed = 2, out = d, image_size = 32, format = "jpeg", progress = false }
    local c = amd.cohort.load { dir = d }
    assert.truthy(c.visits[1].name:match("%.jpg$"))
    assert.equal("\xff\xd8", slurp(c.visits[1].image):sub(1, 2))
    assert.same({ 3, 32, 32 }, cnn.image.load(c.visits[1].image):size())
  end)

  it("checks its options", function()
    H.errors(function() amd.simulate { out = "x", subject = 3 } end, "cnn.amd.simulate: argument 1 (options): unknown option 'subject'")
    H.errors(function() amd.simulate { subjects = 3 } end, "cnn.amd.simulate: argument 1 (out): expected a string, got nil")
    H.errors(function() amd.simulate { out = "x", subjects = 0 } end, "cnn.amd.simulate: argument 1 (subjects): expected a positive integer, got 0")
    H.errors(function() amd.simulate { out = "x", format = "gif" } end, "cnn.amd.simulate: argument 1 (format): expected \"png\" or \"jpeg\", got \"gif\"")
  end)
end)
