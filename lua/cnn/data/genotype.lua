-- cnn.data.genotype: genotype matrices from PLINK's --recode A text (.raw), its binary
-- .bed/.bim/.fam, and a plain dosage CSV. Each reader returns a table
--   { samples = {ids}, variants = {ids}, dosage = (N,P) float32 tensor of 0/1/2 with NaN for
--     missing, phenotype = (N) tensor or nil }
-- with methods :impute_mean() and :standardize() (new tensors). write_bed writes a cohort back as
-- PLINK files. Parsing and the 2-bit encoding are C (csrc/plink.c, csrc/csv.c). Spec: genotype_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local class = require "cnn._class"
local D = cnn._data
local genotype = {}

local Genotypes = class("cnn.data.Genotypes")
function Genotypes:impute_mean() return A.call(D.impute_mean, self.dosage) end
function Genotypes:standardize() return A.call(D.standardize, self.dosage) end

-- column-wise, ignoring NaN: missing -> the column mean; (x - mean) / sd
function genotype.impute_mean(t) return A.call(D.impute_mean, t) end
function genotype.standardize(t) return A.call(D.standardize, t) end

-- path (argument 1) and the options table (argument 2) of a reader
local function reader_args(fn, path, opts, allowed)
  A.str(fn, 1, "path", path)
  opts = A.opts(fn, 2, opts, allowed)
  if opts.dtype ~= nil and opts.dtype ~= "float32" and opts.dtype ~= "float64" then
    A.fail(fn, 2, "dtype", '"float32" or "float64"', opts.dtype)
  end
  if opts.sep ~= nil and (type(opts.sep) ~= "string" or #opts.sep ~= 1) then A.fail(fn, 2, "sep", "a one-character string", opts.sep) end
  return opts
end

-- PLINK codes a missing phenotype as -9 (or NA)
local function phenotype(col)
  if not cnn.is_tensor(col) then return nil end
  return col:float():masked_fill(col:eq(-9), 0 / 0)
end

-- read_raw(path): FID IID PAT MAT SEX PHENOTYPE, then one column per variant (name_allele)
function genotype.read_raw(path, opts)
  opts = reader_args("cnn.data.genotype.read_raw", path, opts, { "dtype" })
  local names, list, _, mat = A.call(D.csv_read, path, { sep = " ", header = true, matrix_from = 7, dosage = true,
                                                 dtype = opts.dtype, fn = "data.genotype.read_raw" })
  if names[2] ~= "IID" then
    A.error(("cnn.data.genotype.read_raw: %s: line 1: expected the PLINK header FID IID PAT MAT SEX PHENOTYPE, got '%s'")
      :format(path, table.concat(names, " ", 1, math.min(6, #names))))
  end
  local variants = table.move(names, 7, #names, 1, {})
  local samples = list[2]
  if cnn.is_tensor(samples) then samples = samples:totable(); for i, v in ipairs(samples) do samples[i] = ("%g"):format(v) end end
  return setmetatable({ samples = samples, variants = variants, dosage = mat, phenotype = phenotype(list[6]) }, Genotypes)
end

-- read_dosage_csv(path): a header "id,<variant>,...", then one row per sample
function genotype.read_dosage_csv(path, opts)
  opts = reader_args("cnn.data.genotype.read_dosage_csv", path, opts, { "sep", "dtype" })
  local names, list, _, mat = A.call(D.csv_read, path, { sep = opts.sep or ",", header = true, matrix_from = 2, dosage = true,
                                                 numeric = false, dtype = opts.dtype, fn = "data.genotype.read_dosage_csv" })
  return setmetatable({ samples = list[1], variants = table.move(names, 2, #names, 1, {}), dosage = mat }, Genotypes)
end

-- read_bed(prefix): prefix.bed with prefix.bim (variants) and prefix.fam (samples)
function genotype.read_bed(prefix, opts)
  local fn = "data.genotype.read_bed"
  opts = reader_args("cnn." .. fn, prefix, opts, { "dtype" })
  local _, fam = A.call(D.csv_read, prefix .. ".fam", { sep = " ", header = false, numeric = false, fn = fn })
  local _, bim = A.call(D.csv_read, prefix .. ".bim", { sep = " ", header = false, numeric = false, fn = fn })
  if #fam < 6 then A.error(("cnn.%s: %s.fam: expected 6 columns (FID IID PAT MAT SEX PHENOTYPE), got %d"):format(fn, prefix, #fam)) end
  if #bim < 6 then A.error(("cnn.%s: %s.bim: expected 6 columns (CHR ID CM POS A1 A2), got %d"):format(fn, prefix, #bim)) end
  local dosage = A.call(D.bed_read, prefix .. ".bed", #fam[2], #bim[2], opts.dtype)
  local pheno = {}
  for i, v in ipairs(fam[6]) do pheno[i] = tonumber(v) or 0 / 0 end
  return setmetatable({ samples = fam[2], variants = bim[2], dosage = dosage, a1 = bim[5], a2 = bim[6],
                        fid = fam[1], chr = bim[1], pos = bim[4], phenotype = phenotype(cnn.tensor(pheno)) }, Genotypes)
end

-- a list field of g (strings or numbers) of length n, or nil
local function field(fn, g, k, n)
  local v = g[k]
  if v == nil then return nil end
  if cnn.is_tensor(v) then v = v:totable() end
  if type(v) ~= "table" or rawlen(v) ~= n then A.fail(fn, 2, "g." .. k, ("a list of %d values"):format(n), v) end
  for i = 1, n do
    local x = rawget(v, i)
    if type(x) ~= "string" and type(x) ~= "number" then A.fail(fn, 2, ("g.%s[%d]"):format(k, i), "a string or a number", x) end
    if type(x) == "string" and (x == "" or x:find("%s")) then A.fail(fn, 2, ("g.%s[%d]"):format(k, i), "a non-empty name without blanks", x) end
  end
  return v
end

-- write_bed(prefix, g): prefix.bed/.bim/.fam from an (N,P) dosage tensor (counts of A1: 0/1/2,
-- NaN missing) or a table {dosage=, samples=, variants=, a1=, a2=, fid=, chr=, pos=, phenotype=}
-- as the readers return (missing fields take defaults). Each file is written atomically.
function genotype.write_bed(prefix, g)
  local fn = "cnn.data.genotype.write_bed"
  A.str(fn, 1, "prefix", prefix)
  if cnn.is_tensor(g) then g = { dosage = g } end
  if type(g) ~= "table" or not cnn.is_tensor(g.dosage) then A.fail(fn, 2, "g", "a dosage tensor or a table with a dosage tensor", g) end
  local x = A.tensor(fn, 2, "g.dosage", g.dosage)
  if x:dim() ~= 2 then A.fail(fn, 2, "g", "an (N,P) dosage matrix", x) end
  if x:dtype() == "int64" then x = x:double() end
  local n, p = x:size(1), x:size(2)
  local body = A.call(D.bed_encode, x, "data.genotype.write_bed")
  local samples, fid = field(fn, g, "samples", n), field(fn, g, "fid", n)
  local variants, chr, pos = field(fn, g, "variants", p), field(fn, g, "chr", p), field(fn, g, "pos", p)
  local a1, a2 = field(fn, g, "a1", p), field(fn, g, "a2", p)
  local ph = g.phenotype
  if ph ~= nil and not (cnn.is_tensor(ph) and ph:numel() == n) and not (type(ph) == "table" and rawlen(ph) == n) then
    A.fail(fn, 2, "g.phenotype", ("%d values"):format(n), ph)
  end
  if cnn.is_tensor(ph) then ph = ph:double():totable() end
  local fam = {}
  for i = 1, n do
    local id = samples and tostring(samples[i]) or ("s" .. i)
    local v = ph and tonumber(ph[i])
    fam[i] = ("%s %s 0 0 0 %s"):format(fid and tostring(fid[i]) or id, id, (v == nil or v ~= v) and "-9" or ("%.17g"):format(v))
  end
  local bim = {}
  for j = 1, p do
    bim[j] = ("%s\t%s\t0\t%s\t%s\t%s"):format(chr and tostring(chr[j]) or "1", variants and tostring(variants[j]) or ("rs" .. j),
      pos and tostring(pos[j]) or tostring(j), a1 and tostring(a1[j]) or "A", a2 and tostring(a2[j]) or "C")
  end
  A.call(cnn._file.write, prefix .. ".bed", "\x6c\x1b\x01" .. body, "data.genotype.write_bed")
  A.call(cnn._file.write, prefix .. ".bim", table.concat(bim, "\n") .. (p > 0 and "\n" or ""), "data.genotype.write_bed")
  A.call(cnn._file.write, prefix .. ".fam", table.concat(fam, "\n") .. "\n", "data.genotype.write_bed")
  return prefix
end

return genotype
