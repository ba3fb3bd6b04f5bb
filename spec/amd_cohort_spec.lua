-- cnn.amd's cohort layer on hand-made files: the label rule (mission.md's worked examples and the
-- edges), times and labels, the loader's validation (one spec per message, each naming the file
-- and the line), the split by subject and Table 1. The simulator: amd_simulate_spec.lua.
local cnn = require "cnn"
local H = require "spec.helpers"
local amd = cnn.amd

local NaN = 0 / 0
local function labels_of(t, event)
  local out = {}
  for k = 2, 7 do out[k - 1] = amd.label(t, event, k) end
  return out
end

-- a folder with the given files (name -> text); images listed in `images` are created empty
local made = {}                             -- the folders written, removed at the end
teardown(function() for _, d in ipairs(made) do os.execute("rm -rf '" .. d .. "'") end end)
local function folder(files, images)
  local dir = os.tmpname()
  os.remove(dir)
  made[#made + 1] = dir
  os.execute("mkdir -p " .. dir .. "/images")
  for name, text in pairs(files) do
    local f = assert(io.open(dir .. "/" .. name, "w")); f:write(text); f:close()
  end
  for _, name in ipairs(images or {}) do
    local f = assert(io.open(dir .. "/" .. name, "w")); f:write("x"); f:close()
  end
  return dir
end

local SUBJECTS = "subject,age,sex,smoking\nA,70.5,F,never\nB,64.0,M,current\n"
-- A's left eye turns late at 7.07 (2 years after 5.07, 4.8 after 2.27); its right eye is seen to 7.57;
-- B's right eye is late from the start
local VISITS = [[
subject,eye,visit_years,image,severity,late
A,L,0.00,images/AL0.png,4,0
A,R,0.00,images/AR0.png,2,0
A,L,2.27,images/AL1.png,6,0
A,R,2.27,images/AR1.png,2,0
A,L,5.07,images/AL2.png,8,0
A,R,5.07,images/AR2.png,3,0
A,L,7.07,images/AL3.png,10,1
A,R,7.57,images/AR3.png,3,0
A,L,8.00,images/AL4.png,12,1
B,R,0.00,images/BR0.png,11,1
B,R,1.50,images/BR1.png,11,1
]]
local IMAGES = { "images/AL0.png", "images/AR0.png", "images/AL1.png", "images/AR1.png", "images/AL2.png",
                 "images/AR2.png", "images/AL3.png", "images/AR3.png", "images/AL4.png", "images/BR0.png", "images/BR1.png" }
local RAW = "FID IID PAT MAT SEX PHENOTYPE rs1_A rs2_T\nA A 0 0 2 -9 0 2\nB B 0 0 1 -9 1 NA\n"

local function good(extra)
  local files = { ["subjects.csv"] = SUBJECTS, ["visits.csv"] = VISITS, ["genotypes.raw"] = RAW }
  for k, v in pairs(extra or {}) do files[k] = v end
  return folder(files, IMAGES)
end

describe("cnn.amd.label", function()
  it("gives mission.md's worked examples", function()
    assert.same({ 1, 1, 1, 0, 0, 0 }, labels_of(4.8, true))      -- late 4.8 years after the visit
    local c = labels_of(5.3, false)                               -- censored 5.3 years after
    assert.same({ 1, 1, 1, 1 }, { c[1], c[2], c[3], c[4] })
    assert.is_nil(c[5]); assert.is_nil(c[6])
    assert.same({ 0, 0, 0, 0, 0, 0 }, labels_of(0, true))        -- already late
  end)

  it("puts an event or a censoring exactly at k on the side of 1", function()
    assert.equal(1, amd.label(3, true, 3))
    assert.equal(0, amd.label(2.999999, true, 3))
    assert.equal(1, amd.label(3, false, 3))
    assert.is_nil(amd.label(2.999999, false, 3))
    assert.equal(1, amd.label(0, false, 0))
    assert.equal(1, amd.label(3, 1, 3)); assert.is_nil(amd.label(1, 0, 3))   -- event as 0/1
  end)

  it("refuses bad arguments", function()
    H.errors(function() amd.label(-1, true, 2) end, "cnn.amd.label: argument 1 (t): expected a number in [0, inf], got -1")
    H.errors(function() amd.label(0 / 0, true, 2) end, "cnn.amd.label: argument 1 (t): expected a finite number, got ")
    H.errors(function() amd.label(1, "yes", 2) end, "cnn.amd.label: argument 2 (event): expected a boolean, got \"yes\"")
    H.errors(function() amd.label(1, nil, 2) end, "cnn.amd.label: argument 2 (event): expected a boolean (or 0/1), got nil")
    H.errors(function() amd.label(1, true) end, "cnn.amd.label: argument 3 (k): expected a finite number, got nil")
  end)
end)

describe("cnn.amd.cohort.load", function()
  it("reads the layout: visits in file order, subjects, genotype rows, images resolved", function()
    local dir = good()
    local c = amd.cohort.load { dir = dir, quiet = true }
    assert.equal(dir, c.dir)
    assert.equal(11, #c.visits)
    local v = c.visits[3]
    assert.same({ "A", "L", 2.27, dir .. "/images/AL1.png", "images/AL1.png", 6, false, 4 },
                { v.subject, v.eye, v.years, v.image, v.name, v.severity, v.late, v.line })
    assert.is_true(c.visits[7].late)
    assert.same({ "A", "B" }, c.subject_ids)
    assert.same({ 70.5, "F", "never" }, { c.subjects.A.age, c.subjects.A.sex, c.subjects.A.smoking })
    assert.same({ 64, "M", "current" }, { c.subjects.B.age, c.subjects.B.sex, c.subjects.B.smoking })
    assert.same({ "rs1_A", "rs2_T" }, c.snps)
    assert.equal(1, c.subjects.A.geno); assert.equal(2, c.subjects.B.geno)
    assert.same({ 2, 2 }, c.genotypes:size())
    assert.equal("float32", c.genotypes:dtype())
    assert.same({ 0, 2 }, c.genotypes[1]:totable())
    assert.equal(1, c.genotypes[2][1]); assert.is_true(c.genotypes[2][2] ~= c.genotypes[2][2])   -- NA -> NaN
    assert.is_nil(c.truth)
  end)

  it("takes the files one by one, genotypes from a .bed prefix, and truth.csv", function()
    local dir = good({ ["truth.csv"] = "image,p2,p3,p4,p5,p6,p7\nimages/AL0.png,1,0.9,0.8,0.5,0.25,0.125\n" })
    -- a .bed/.bim/.fam pair with the same two subjects, written by hand: SNP-major, 2 bits a call
    -- codes (low bits first): 00 = two copies of A1, 10 = one, 11 = none, 01 = missing
    -- rs1: A has 0 copies (11), B has 1 (10) -> 0b1011 = 0x0b; rs2: A 2 (00), B missing (01) -> 0b0100 = 0x04
    local bed = string.char(0x6c, 0x1b, 0x01, 0x0b, 0x04)
    local f = io.open(dir .. "/g.bed", "wb"); f:write(bed); f:close()
    f = io.open(dir .. "/g.bim", "w"); f:write("1 rs1 0 100 A G\n1 rs2 0 200 T C\n"); f:close()
    f = io.open(dir .. "/g.fam", "w"); f:write("A A 0 0 2 -9\nB B 0 0 1 -9\n"); f:close()
    local c = amd.cohort.load { visits = dir .. "/visits.csv", subjects = dir .. "/subjects.csv",
                                genotypes = dir .. "/g.bed", truth = dir .. "/truth.csv" }
    assert.is_nil(c.dir)
    assert.equal(dir .. "/images/AL0.png", c.visits[1].image)    -- resolved against visits.csv's folder
    assert.same({ "rs1_A", "rs2_T" }, c.snps)
    assert.same({ 0, 2 }, c.genotypes[1]:totable())
    assert.equal(1, c.genotypes[2][1]); assert.is_true(c.genotypes[2][2] ~= c.genotypes[2][2])
    assert.same({ 1, 0.9, 0.8, 0.5, 0.25, 0.125 }, c.truth["images/AL0.png"])
    assert.same(c.truth["images/AL0.png"], c.visits[1].truth)
    -- an images folder of its own, and no image check
    local c2 = amd.cohort.load { dir = dir, images = "/elsewhere", check_images = false, genotypes = false }
    assert.equal("/elsewhere/images/AL0.png", c2.visits[1].image)
    assert.is_nil(c2.genotypes)
  end)

  it("says once which subjects have no genotypes, and keeps them for image-only use", function()
    local dir = good({ ["genotypes.raw"] = "FID IID PAT MAT SEX PHENOTYPE rs1_A\nB B 0 0 1 -9 1\n" })
    local c = amd.cohort.load { dir = dir, quiet = true }
    assert.is_nil(c.subjects.A.geno); assert.equal(1, c.subjects.B.geno)
    assert.same({ 1, 1 }, c.genotypes:size())
    assert.equal(1, #c.warnings)
    assert.truthy(c.warnings[1]:find("cnn.amd.cohort.load: 1 of 2 subjects have no genotypes in " .. dir ..
                                     "/genotypes.raw (A): they can be used by image-only models only", 1, true))
  end)

  -- each bad file: its message names the file and the line
  local function bad(files, text)
    local dir = good(files)
    H.errors(function() amd.cohort.load { dir = dir, quiet = true } end, text:gsub("DIR", dir))
  end
  local function visits_with(line_no, row)
    local lines = {}
    for l in VISITS:gmatch("[^\n]+") do lines[#lines + 1] = l end
    if row then lines[line_no] = row else table.remove(lines, line_no) end
    return table.concat(lines, "\n") .. "\n"
  end

  it("names a missing image file", function()
    local dir = good()
    os.remove(dir .. "/images/AR1.png")
    H.errors(function() amd.cohort.load { dir = dir } end,
             "cnn.amd.cohort.load: " .. dir .. "/visits.csv:5: image file '" .. dir .. "/images/AR1.png' not found")
  end)
  it("names an unknown eye code", function()
    bad({ ["visits.csv"] = visits_with(3, "A,OD,0.00,images/AR0.png,2,0") }, "DIR/visits.csv:3: unknown eye code 'OD' (expected L or R)")
  end)
  it("names a severity out of range", function()
    bad({ ["visits.csv"] = visits_with(5, "A,R,2.27,images/AR1.png,13,0") },
        "DIR/visits.csv:5: severity '13' out of range (expected an integer 1..12: 1-9 the AREDS steps, 10-12 late)")
    bad({ ["visits.csv"] = visits_with(5, "A,R,2.27,images/AR1.png,2.5,0") }, "DIR/visits.csv:5: severity '2.5' out of range")
  end)
  it("names a duplicated visit", function()
    bad({ ["visits.csv"] = visits_with(5, "A,R,0.00,images/AR1.png,2,0") },
        "DIR/visits.csv:5: duplicate visit: A R at 0.00 years is already at line 3")
  end)
  it("names visits out of order", function()
    bad({ ["visits.csv"] = visits_with(7, "A,R,1.00,images/AR2.png,3,0") },
        "DIR/visits.csv:7: visits out of order: A R at 1.00 years comes after 2.27 years (line 5)")
  end)
  it("names late followed by not late", function()
    bad({ ["visits.csv"] = visits_with(10, "A,L,8.00,images/AL4.png,9,0") },
        "DIR/visits.csv:10: late followed by not late: A L is not late at 8.00 years but was late at 7.07 years (line 8)")
  end)
  it("names a late flag that contradicts the severity", function()
    bad({ ["visits.csv"] = visits_with(8, "A,L,7.07,images/AL3.png,10,0") },
        "DIR/visits.csv:8: late 0 with severity 10 (late is 1 exactly when severity >= 10)")
    bad({ ["visits.csv"] = visits_with(8, "A,L,7.07,images/AL3.png,10,yes") }, "DIR/visits.csv:8: late 'yes': expected 0 or 1")
  end)
  it("names a visit of an unknown subject", function()
    bad({ ["visits.csv"] = visits_with(2, "Z,L,0.00,images/AL0.png,4,0") }, "DIR/visits.csv:2: subject 'Z' is not in DIR/subjects.csv")
  end)
  it("names a bad visit time", function()
    bad({ ["visits.csv"] = visits_with(2, "A,L,-1,images/AL0.png,4,0") }, "DIR/visits.csv:2: visit_years '-1': expected a number of years >= 0")
  end)
  it("names an empty image path", function()
    bad({ ["visits.csv"] = visits_with(2, "A,L,0.00,,4,0") }, "DIR/visits.csv:2: empty image path")
  end)
  it("names a row with the wrong number of fields", function()
    bad({ ["visits.csv"] = visits_with(2, "A,L,0.00,images/AL0.png,4") }, "DIR/visits.csv:2: 5 fields, expected 6 like the header")
  end)
  it("names a missing column", function()
    bad({ ["subjects.csv"] = "subject,age,sex\nA,70,F\n" },
        "DIR/subjects.csv:1: missing column 'smoking' (expected the header subject,age,sex,smoking)")
    bad({ ["visits.csv"] = "" }, "DIR/visits.csv:1: empty file, expected the header subject,eye,visit_years,image,severity,late")
  end)
  it("names a subject listed twice", function()
    bad({ ["subjects.csv"] = SUBJECTS .. "A,60,M,never\n" }, "DIR/subjects.csv:4: subject A appears twice (first at line 2)")
  end)
  it("names bad ages, sexes and smoking codes", function()
    bad({ ["subjects.csv"] = "subject,age,sex,smoking\nA,old,F,never\nB,64,M,never\n" }, "DIR/subjects.csv:2: age 'old': expected a number of years")
    bad({ ["subjects.csv"] = "subject,age,sex,smoking\nA,70,female,never\nB,64,M,never\n" }, "DIR/subjects.csv:2: sex 'female': expected F or M")
    bad({ ["subjects.csv"] = "subject,age,sex,smoking\nA,70,F,never\nB,64,M,sometimes\n" },
        "DIR/subjects.csv:3: smoking 'sometimes': expected never, former or current")
  end)
  it("names a missing file and a bad truth.csv", function()
    local dir = good()
    H.errors(function() amd.cohort.load { dir = dir .. "/nowhere" } end, "cnn.amd.cohort.load: " .. dir .. "/nowhere/subjects.csv: cannot open the file")
    bad({ ["truth.csv"] = "image,p2,p3,p4,p5,p6,p7\nimages/AL0.png,1,1,1,1,1,2\n" }, "DIR/truth.csv:2: p7 '2': expected a probability")
  end)
  it("accepts CRLF line ends, quoted fields and missing covariates", function()
    local dir = good({ ["subjects.csv"] = 'subject,age,sex,smoking\r\n"A",NA,F,\r\nB,64,M,current\r\n' })
    local c = amd.cohort.load { dir = dir, quiet = true }
    assert.is_nil(c.subjects.A.age); assert.is_nil(c.subjects.A.smoking); assert.equal("F", c.subjects.A.sex)
  end)
  it("checks its options", function()
    H.errors(function() amd.cohort.load { dri = "x" } end, "cnn.amd.cohort.load: argument 1 (options): unknown option 'dri'")
    H.errors(function() amd.cohort.load {} end, "cnn.amd.cohort.load: argument 1 (visits): expected a path (or dir = the cohort's folder), got nil")
    H.errors(function() amd.cohort.load "x" end, "cnn.amd.cohort.load: argument 1 (options): expected an options table, got \"x\"")
  end)
end)

describe("cnn.amd.times and cnn.amd.labels", function()
  it("measure from each visit to the eye's first late visit or its last visit", function()
    local c = amd.cohort.load { dir = good(), quiet = true }
    local t, e = amd.times(c)
    -- A L: late first seen at 7.07; A R: last seen at 7.57 without late; B R: late from the start
    H.close(t, { 7.07, 7.57, 4.8, 5.3, 2, 2.5, 0, 0, 0, 0, 0 }, 1e-6)
    assert.same({ 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1 }, e:totable())
    local L, counts = amd.labels(c)
    assert.same({ 11, 6 }, L:size())
    local want = {
      { 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1 },          -- 7.07 (event), 7.57 (censored)
      { 1, 1, 1, 0, 0, 0 }, { 1, 1, 1, 1, NaN, NaN },      -- the worked examples: 4.8 and 5.3
      { 1, 0, 0, 0, 0, 0 }, { 1, NaN, NaN, NaN, NaN, NaN }, -- exactly 2 years to late (7.07 - 5.07); censored at 2.5
      { 0, 0, 0, 0, 0, 0 }, { NaN, NaN, NaN, NaN, NaN, NaN }, { 0, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0 },
    }
    for i, row in ipairs(want) do
      for j, w in ipairs(row) do
        local got = L[i][j]
        assert(got == w or (w ~= w and got ~= got), ("row %d cutoff %d: expected %s, got %s"):format(i, j + 1, w, got))
      end
    end
    -- counts per cutoff: labelled images, their eyes and subjects, positives
    assert.same({ cutoff = 2, images = 10, positives = 6, eyes = 3, subjects = 2 }, counts[1])
    assert.same({ cutoff = 7, images = 8, positives = 2, eyes = 3, subjects = 2 }, counts[6])
    local L2, c2 = amd.labels(c, { 5.3 })
    assert.same({ 11, 1 }, L2:size()); assert.equal(1, L2[4][1]); assert.equal(5.3, c2[1].cutoff)
    H.errors(function() amd.labels(c, {}) end, "cnn.amd.labels: argument 2 (cutoffs): expected a non-empty list of cutoff years")
    H.errors(function() amd.labels({}) end, "cnn.amd.labels: argument 1 (cohort): expected a cohort (from cnn.amd.cohort.load), got table")
  end)
end)

describe("cnn.amd.split", function()
  -- 40 subjects of 1 to 3 visits
  local function big()
    local subj, vis = { "subject,age,sex,smoking" }, { "subject,eye,visit_years,image,severity,late" }
    for i = 1, 40 do
      subj[#subj + 1] = ("S%02d,70,F,never"):format(i)
      for k = 1, i % 3 + 1 do vis[#vis + 1] = ("S%02d,L,%d,images/x.png,1,0"):format(i, k) end
    end
    local dir = folder({ ["subjects.csv"] = table.concat(subj, "\n") .. "\n", ["visits.csv"] = table.concat(vis, "\n") .. "\n" })
    return amd.cohort.load { dir = dir, check_images = false }
  end

  it("keeps all visits of a subject on one side, covers every visit once, and is seeded", function()
    local c = big()
    local s = amd.split(c, { train = 0.75, val = 0.1, test = 0.15 }, 7)
    local side, n = {}, 0
    for _, part in ipairs({ "train", "val", "test" }) do
      for i, v in ipairs(s[part]) do
        if i > 1 then assert.is_true(v > s[part][i - 1]) end     -- ascending
        local id = c.visits[v].subject
        assert(side[id] == nil or side[id] == part, "subject " .. id .. " on two sides")
        side[id] = part
        n = n + 1
      end
      for _, id in ipairs(s.subjects[part]) do assert.equal(part, side[id]) end
    end
    assert.equal(#c.visits, n)
    assert.equal(40, #s.subjects.train + #s.subjects.val + #s.subjects.test)
    assert.near(0.75 * #c.visits, #s.train, 4)
    assert.same(s, amd.split(c, { train = 0.75, val = 0.1, test = 0.15 }, 7))
    assert.are_not.same(s.train, amd.split(c, { train = 0.75, val = 0.1, test = 0.15 }, 8).train)
    local s2 = amd.split(c, { train = 1223, test = 128 }, 1)                    -- counts are fractions too
    assert.is_nil(s2.val)
    assert.near(#c.visits * 1223 / 1351, #s2.train, 3)
    H.errors(function() amd.split(c, { train = 0.9, tests = 0.1 }, 1) end, "cnn.amd.split: argument 2 (fractions): unknown part 'tests' (expected train, test, val)")
    H.errors(function() amd.split(c, { train = 1 }, 1) end, "cnn.amd.split: argument 2 (fractions): expected a table with train and test")
  end)
end)

describe("cnn.amd.table1", function()
  it("counts subjects, eyes, baseline groups, progression and labelled images per column", function()
    local c = amd.cohort.load { dir = good(), quiet = true }
    local s = { train = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, test = { 10, 11 } }
    local t = amd.table1(c, s)
    local rows = {}
    for l in t:gmatch("[^\n]+") do rows[#rows + 1] = l end
    assert.equal("| | All | Train | Test |", rows[1])
    local function row(label) for _, l in ipairs(rows) do if l:sub(1, #label + 4) == "| " .. label .. " |" then return l end end end
    assert.equal("| Subjects | 2 | 1 | 1 |", row("Subjects"))
    assert.equal("| Age at baseline, years (mean ± sd) | 67.2 ± 4.6 | 70.5 | 64.0 |", row("Age at baseline, years (mean ± sd)"))
    assert.equal("| Female | 1 (50.0%) | 1 (100.0%) | 0 (0.0%) |", row("Female"))
    assert.equal("| Follow-up, years (mean ± sd) | 4.8 ± 4.6 | 8.0 | 1.5 |", row("Follow-up, years (mean ± sd)"))
    assert.equal("| Eyes | 3 | 2 | 1 |", row("Eyes"))
    assert.equal("| Eyes at baseline step 1-3 | 1 (33.3%) | 1 (50.0%) | 0 (0.0%) |", row("Eyes at baseline step 1-3"))
    assert.equal("| Eyes at baseline step 9 or late | 1 (33.3%) | 0 (0.0%) | 1 (100.0%) |", row("Eyes at baseline step 9 or late"))
    assert.equal("| Progressed to late AMD, of step 4-6 | 1/1 (100.0%) | 1/1 (100.0%) | - |", row("Progressed to late AMD, of step 4-6"))
    assert.equal("| Images | 11 | 9 | 2 |", row("Images"))
    assert.equal("| Labelled images, cutoff 2 years | 10 | 8 | 2 |", row("Labelled images, cutoff 2 years"))
    assert.equal("| Labelled images, cutoff 7 years | 8 | 6 | 2 |", row("Labelled images, cutoff 7 years"))
    assert.equal("| | All |", amd.table1(c):match("^[^\n]+"))
  end)
end)
