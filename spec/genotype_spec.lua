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

  it("write_bed writes the bytes PLINK's format expects, and reads back", function()
    local x = cnn.tensor(G)
    geno.write_bed(dir .. "/w", { dosage = x, samples = { "s1", "s2", "s3", "s4", "s5" }, variants = { "rs1", "rs2", "rs3" },
                                  a1 = { "A", "G", "T" }, a2 = { "C", "T", "A" }, chr = { 1, 1, 2 }, pos = { 100, 200, 300 },
                                  phenotype = { 1.5, NA, 2, 0.5, NA } })
    write_bed(dir .. "/ref.bed", G)                          -- the spec's own encoder, bit by bit
    local function bytes(f) local h = assert(io.open(f, "rb")); local b = h:read("a"); h:close(); return b end
    assert.are.equal(bytes(dir .. "/ref.bed"), bytes(dir .. "/w.bed"))
    assert.are.equal(bim, bytes(dir .. "/w.bim"))
    assert.are.equal("s1 s1 0 0 0 1.5\ns2 s2 0 0 0 -9\ns3 s3 0 0 0 2\ns4 s4 0 0 0 0.5\ns5 s5 0 0 0 -9\n", bytes(dir .. "/w.fam"))
    local g = geno.read_bed(dir .. "/w")
    same(g.dosage, G)
    assert.are.same({ "A", "G", "T" }, g.a1)
    geno.write_bed(dir .. "/w2", g)                          -- a reader's table goes back unchanged
    assert.are.equal(bytes(dir .. "/w.bed"), bytes(dir .. "/w2.bed"))
    assert.are.equal(bytes(dir .. "/w.bim"), bytes(dir .. "/w2.bim"))
    geno.write_bed(dir .. "/w3", x:double())                 -- a bare matrix: default names
    local h = geno.read_bed(dir .. "/w3")
    assert.are.same({ "rs1", "rs2", "rs3" }, h.variants); assert.are.same({ "s1", "s2", "s3", "s4", "s5" }, h.samples)
    H.errors(function() geno.write_bed(dir .. "/bad", cnn.tensor({ { 0, 3 } })) end,
      "cnn.data.genotype.write_bed: sample 1, variant 2: dosage 3 is outside {0,1,2,NaN}")
    H.errors(function() geno.write_bed(dir .. "/bad", { dosage = x, variants = { "a" } }) end,
      "cnn.data.genotype.write_bed: argument 2 (g.variants): expected a list of 3 values")
    H.errors(function() geno.write_bed(dir .. "/bad", "x") end, "argument 2 (g): expected a dosage tensor")
  end)

  it("write_bed round trip through plink1.9 --recode A", function()
    if os.execute("command -v plink1.9 >/dev/null 2>&1") ~= true then
      print("\n  skipped: plink1.9 is not installed (sh scripts/install-deps.sh installs it)")
      return
    end
    -- 37 samples (not a multiple of 4) x 23 variants with missing calls, from a fixed LCG
    local s, rows = 12345, {}
    for i = 1, 37 do
      rows[i] = {}
      for j = 1, 23 do
        s = (s * 1103515245 + 12345) % 2147483648
        local u = s % 10
        rows[i][j] = u == 0 and NA or u % 3
      end
    end
    local pre = dir .. "/rt"
    geno.write_bed(pre, { dosage = cnn.tensor(rows, "float64"), phenotype = cnn.arange(1, 38):double() })
    local cmd = ("plink1.9 --bfile %s --keep-allele-order --recode A --out %s >/dev/null 2>&1"):format(pre, pre)
    assert.is_true(os.execute(cmd) == true, "plink1.9 failed on the written files")
    local r = geno.read_raw(pre .. ".raw")
    same(r.dosage, rows)
    assert.are.equal("rs1_A", r.variants[1])
    assert.are.same(cnn.arange(1, 38):totable(), r.phenotype:totable())
    -- plink's own --make-bed of our files is byte-identical to ours
    assert.is_true(os.execute(("plink1.9 --bfile %s --keep-allele-order --make-bed --out %s2 >/dev/null 2>&1"):format(pre, pre)) == true)
    local function bytes(f) local h = assert(io.open(f, "rb")); local b = h:read("a"); h:close(); return b end
    assert.are.equal(bytes(pre .. ".bed"), bytes(pre .. "2.bed"))
  end)

  it("leaks nothing", function()
    local p = file("l.raw", raw)
    H.no_leak(function() local g = geno.read_raw(p); g:standardize(); g:impute_mean() end)
  end)
end)
