-- cnn.data.genotype: genotype matrices from PLINK's --recode A text (.raw), its binary
-- .bed/.bim/.fam, and a plain dosage CSV. Each reader returns a table
--   { samples = {ids}, variants = {ids}, dosage = (N,P) float32 tensor of 0/1/2 with NaN for
--     missing, phenotype = (N) tensor or nil }
-- with methods :impute_mean() and :standardize() (new tensors). Parsing is C (csrc/plink.c,
-- csrc/csv.c). Spec: genotype_spec.lua.
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
                        phenotype = phenotype(cnn.tensor(pheno)) }, Genotypes)
end

return genotype
