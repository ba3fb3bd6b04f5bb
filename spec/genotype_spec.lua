-- cnn.data.genotype: the same 5 x 3 genotypes written as PLINK .raw, .bed/.bim/.fam and a dosage
-- CSV, read back alike; bad values and inconsistent files; imputation and standardisation.
local cnn = require "cnn"
local H = require "helpers"
local P = require "fixtures.png"
local geno = require "cnn.data.genotype"

local NA = 0 / 0
local G = { { 0, 1, 2 }, { 2, NA, 1 }, { 1, 1, 0 }, { NA, 2, 2 }, { 0, 0, 1 } }   -- 5 samples x 3 variants

-- equal with NaN where the other has NaN
local function same(t, want)
  local got = t:totable()
  for i, row in ipairs(want) do
    for j, v in ipairs(row) do
      local g = got[i][j]
      assert(v ~= v and g ~= g or v == g, ("element [%d][%d]: expected %s, got %s"):format(i, j, v, g))
    end
  end
end

local function write_bed(path, g, magic)
  local code = { [0] = 3, [1] = 2, [2] = 0 }           -- 2 bits per sample, low bits first; NaN -> 1
  local out = { magic or "\x6c\x1b\x01" }
  for j = 1, #g[1] do
    local byte, k = 0, 0
    for i = 1, #g do
      local v = g[i][j]
      byte = byte | ((v ~= v and 1 or code[v]) << (2 * k))
      k = k + 1
      if k == 4 then out[#out + 1] = string.char(byte); byte, k = 0, 0 end
    end
    if k > 0 then out[#out + 1] = string.char(byte) end
  end
  return P.write(path, table.concat(out))
end

describe("cnn.data.genotype", function()
  local dir
  setup(function() dir = P.tmpdir() end)
  teardown(function() P.rmdir(dir) end)
  local function file(name, text) return P.write(dir .. "/" .. name, text) end

  local raw = "FID IID PAT MAT SEX PHENOTYPE rs1_A rs2_G rs3_T\n" ..
              "f1 s1 0 0 1 1.5 0 1 2\nf2 s2 0 0 2 -9 2 NA 1\nf3 s3 0 0 1 2 1 1 0\n" ..
              "f4 s4 0 0 2 0.5 NA 2 2\nf5 s5 0 0 1 NA 0 0 1\n"
  local fam = "f1 s1 0 0 1 1.5\nf2 s2 0 0 2 -9\nf3 s3 0 0 1 2\nf4 s4 0 0 2 0.5\nf5 s5 0 0 1 -9\n"
  local bim = "1\trs1\t0\t100\tA\tC\n1\trs2\t0\t200\tG\tT\n2\trs3\t0\t300\tT\tA\n"

  it("reads PLINK --recode A (.raw)", function()
    local g = geno.read_raw(file("a.raw", raw))
    assert.are.same({ "s1", "s2", "s3", "s4", "s5" }, g.samples)
    assert.are.same({ "rs1_A", "rs2_G", "rs3_T" }, g.variants)
    assert.are.same({ 5, 3 }, g.dosage:size())
    same(g.dosage, G)
    local ph = g.phenotype:totable()
    assert.are.equal(1.5, ph[1]); assert.is_true(ph[2] ~= ph[2]); assert.is_true(ph[5] ~= ph[5])
  end)

  it("reads .bed/.bim/.fam into the same matrix", function()
    file("b.fam", fam); file("b.bim", bim); write_bed(dir .. "/b.bed", G)
    local g = geno.read_bed(dir .. "/b")
    assert.are.same({ "s1", "s2", "s3", "s4", "s5" }, g.samples)
    assert.are.same({ "rs1", "rs2", "rs3" }, g.variants)
    assert.are.same({ "A", "G", "T" }, g.a1)
    same(g.dosage, G)
    same(geno.read_bed(dir .. "/b", { dtype = "float64" }).dosage, G)
  end)

  it("reads a dosage CSV", function()
    local g = geno.read_dosage_csv(file("d.csv", "id,rs1,rs2,rs3\ns1,0,1,2\ns2,2,,1\ns3,1,1,0\ns4,NA,2,2\ns5,0,0,1\n"))
    assert.are.same({ "s1", "s2", "s3", "s4", "s5" }, g.samples)
    assert.are.same({ "rs1", "rs2", "rs3" }, g.variants)
    same(g.dosage, G)
  end)

  it("imputes column means and standardises, ignoring missing values", function()
    local g = geno.read_raw(file("i.raw", raw))
    same(g:impute_mean(), { { 0, 1, 2 }, { 2, 1, 1 }, { 1, 1, 0 }, { 0.75, 2, 2 }, { 0, 0, 1 } })
    local s = geno.standardize(cnn.tensor({ { 1, 5 }, { 3, 5 }, { NA, 5 } }, "float64"))
    local t = s:totable()
    assert.is_true(math.abs(t[1][1] + 1 / math.sqrt(2)) < 1e-12 and math.abs(t[2][1] - 1 / math.sqrt(2)) < 1e-12)
    assert.is_true(t[3][1] ~= t[3][1])
    assert.are.same({ 0, 0, 0 }, { t[1][2], t[2][2], t[3][2] })     -- a constant column
  end)

  it("refuses genotype values outside {0,1,2,NA}, naming file, line and column", function()
    local p = file("bad.raw", raw:gsub("f3 s3 0 0 1 2 1 1 0", "f3 s3 0 0 1 2 1 3 0"))
    H.errors(function() geno.read_raw(p) end,
      "cnn.data.genotype.read_raw: " .. p .. ": line 4, column 'rs2_G': genotype value 3 is outside {0,1,2,NA}")
    local q = file("bad.csv", "id,rs1\ns1,0.5\n")
    H.errors(function() geno.read_dosage_csv(q) end,
      "cnn.data.genotype.read_dosage_csv: " .. q .. ": line 2, column 'rs1': genotype value 0.5 is outside {0,1,2,NA}")
    local r = file("word.csv", "id,rs1\ns1,AA\n")
    H.errors(function() geno.read_dosage_csv(r) end, r .. ": line 2, column 'rs1': 'AA' is not a number (or NA)")
    local s = file("rag.raw", raw:gsub("f5 s5 0 0 1 NA 0 0 1", "f5 s5 0 0 1 NA 0 0"))
    H.errors(function() geno.read_raw(s) end, s .. ": line 6 has 8 fields, expected 9 (as in the first line)")
  end)

  it("refuses a .bed whose size disagrees with .bim/.fam, or with a wrong magic", function()
    file("c.fam", fam .. ("f6 s6 0 0 1 -9\n"):rep(4)); file("c.bim", bim); write_bed(dir .. "/c.bed", G)
    H.errors(function() geno.read_bed(dir .. "/c") end, "cnn.data.genotype.read_bed: " .. dir ..
      "/c.bed: size 9 bytes disagrees with 9 samples (.fam) x 3 variants (.bim): expected 3 + 3 x 3 = 12 bytes")
    file("e.fam", fam); file("e.bim", bim .. "2\trs4\t0\t400\tC\tG\n"); write_bed(dir .. "/e.bed", G)
    H.errors(function() geno.read_bed(dir .. "/e") end, "/e.bed: size 9 bytes disagrees with 5 samples (.fam) x 4 variants (.bim): expected 3 + 4 x 2 = 11 bytes")
    file("m.fam", fam); file("m.bim", bim); write_bed(dir .. "/m.bed", G, "\x6c\x1c\x01")
    H.errors(function() geno.read_bed(dir .. "/m") end, "/m.bed: wrong magic 0x6C1C at byte 0 (expected 0x6C1B: not a PLINK 1 .bed file)")
    file("s.fam", fam); file("s.bim", bim); write_bed(dir .. "/s.bed", G, "\x6c\x1b\x00")
    H.errors(function() geno.read_bed(dir .. "/s") end, "/s.bed: byte 2 is 0x00: only SNP-major files (0x01) are read")
    H.errors(function() geno.read_bed(dir .. "/none") end, "cnn.data.genotype.read_bed: " .. dir .. "/none.fam: cannot open")
  end)

  it("leaks nothing", function()
    local p = file("l.raw", raw)
    H.no_leak(function() local g = geno.read_raw(p); g:standardize(); g:impute_mean() end)
  end)
end)
