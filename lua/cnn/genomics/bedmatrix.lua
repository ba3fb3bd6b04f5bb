-- cnn.genomics.BedMatrix: a cohort's genotypes kept as PLINK's 2-bit codes (the .bed body,
-- P variants of ceil(N/4) bytes) until a batch is made. In memory (a Lua string: 2,000 x 50,000
-- genotypes are 25 MB) or streamed from the .bed file chunk by chunk (stream = true: a biobank
-- panel is scanned without holding it). Batches, per-variant statistics and single-marker scans
-- are decoded from the codes in C (csrc/plink.c: bed_batch, bed_scan). Also the phenotype file
-- reader and the adapter that lets the baselines take a plain (N,P) tensor as well.
-- Spec: genomics_gp_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local class = require "cnn._class"
local D = cnn._data
local M = {}

local BedMatrix = class("cnn.genomics.BedMatrix")
M.BedMatrix = BedMatrix

local function per(n) return (n + 3) // 4 end

-- an index list (table or tensor, 1-based) as a contiguous int64 tensor, or nil for nil
local function index(fn, i, name, v, n)
  if v == nil then return nil end
  if cnn.is_tensor(v) then
    A.tensor(fn, i, name, v)
    v = v:reshape(v:numel()):long():contiguous()
  elseif type(v) == "table" then
    local m = rawlen(v)
    for k = 1, m do
      local x = rawget(v, k)
      if math.type(x) ~= "integer" and not (type(x) == "number" and x == math.floor(x)) then A.fail(fn, i, ("%s[%d]"):format(name, k), "an integer", x) end
    end
    v = cnn.tensor(table.move(v, 1, m, 1, {}), "int64")
  else
    A.fail(fn, i, name, "a list or tensor of 1-based indices", v)
  end
  if n and v:numel() > 0 and (v:min():item() < 1 or v:max():item() > n) then
    A.fail(fn, i, name, ("indices in 1..%d"):format(n), ("%s with values %d..%d"):format(name, v:min():item(), v:max():item()))
  end
  return v
end
M.index = index

local function read_text(fn, path)
  local _, cols = A.call(D.csv_read, path, { sep = " ", header = false, numeric = false, fn = fn })
  return cols
end

-- open_bed(prefix [, {stream = false}]) -> BedMatrix with samples, fid, variants, a1, a2, chr, pos
-- and phenotype (the .fam's sixth column, NaN for -9/NA)
function M.open_bed(prefix, opts)
  local fn = "cnn.genomics.open_bed"
  A.str(fn, 1, "prefix", prefix)
  opts = A.opts(fn, 2, opts, { "stream" })
  local stream = A.bool(fn, 2, "stream", opts.stream, false)
  local fam = read_text("genomics.open_bed", prefix .. ".fam")
  local bim = read_text("genomics.open_bed", prefix .. ".bim")
  if #fam < 6 then A.error(("%s: %s.fam: expected 6 columns (FID IID PAT MAT SEX PHENOTYPE), got %d"):format(fn, prefix, #fam)) end
  if #bim < 6 then A.error(("%s: %s.bim: expected 6 columns (CHR ID CM POS A1 A2), got %d"):format(fn, prefix, #bim)) end
  local n, p = #fam[2], #bim[2]
  local path = prefix .. ".bed"
  local f, err = io.open(path, "rb")
  if not f then A.error(("%s: %s: cannot open: %s"):format(fn, path, err)) end
  local head = f:read(3) or ""
  local size = f:seek("end")
  if head:sub(1, 2) ~= "\x6c\x1b" or head:byte(3) ~= 1 then
    f:close()
    A.error(("%s: %s: not a SNP-major PLINK 1 .bed file (magic 6C 1B 01 expected)"):format(fn, path))
  end
  if size ~= 3 + per(n) * p then
    f:close()
    A.error(("%s: %s: size %d bytes disagrees with %d samples (.fam) x %d variants (.bim): expected %d bytes")
      :format(fn, path, size, n, p, 3 + per(n) * p))
  end
  local bytes
  if not stream then f:seek("set", 3); bytes = f:read(per(n) * p) or ""; f:close() else f:close() end
  local ph = {}
  for i, v in ipairs(fam[6]) do local x = tonumber(v); ph[i] = (x == nil or x == -9) and 0 / 0 or x end
  return setmetatable({ n = n, p = p, bytes = bytes, path = stream and path or nil, samples = fam[2], fid = fam[1],
                        variants = bim[2], chr = bim[1], pos = bim[4], a1 = bim[5], a2 = bim[6],
                        phenotype = cnn.tensor(ph, "float64") }, BedMatrix)
end

-- from_bytes: an in-memory BedMatrix over a .bed body (used by the simulator and from_dosage)
function M.from_bytes(bytes, n, p, meta)
  local g = { n = n, p = p, bytes = bytes }
  for k, v in pairs(meta or {}) do g[k] = v end
  return setmetatable(g, BedMatrix)
end

-- from_dosage(X): an (N,P) tensor of 0/1/2/NaN as a BedMatrix (2 bits a genotype)
function M.from_dosage(x, meta)
  local body = A.call_as("cnn.genomics.from_dosage", D.bed_encode, x, "genomics.from_dosage")
  return M.from_bytes(body, x:size(1), x:size(2), meta)
end

-- the bytes of variants j0..j1 (1-based, inclusive): a slice of the string or a read of the file
function BedMatrix:_chunk(j0, j1)
  local b = per(self.n)
  if self.bytes then
    if j0 == 1 and j1 == self.p then return self.bytes end
    return self.bytes:sub((j0 - 1) * b + 1, j1 * b)
  end
  local f = assert(io.open(self.path, "rb"))
  f:seek("set", 3 + (j0 - 1) * b)
  local s = f:read((j1 - j0 + 1) * b)
  f:close()
  if s == nil or #s ~= (j1 - j0 + 1) * b then A.error(("cnn.genomics: %s: truncated while reading variants %d..%d"):format(self.path, j0, j1)) end
  return s
end

-- variants per chunk: about 32 MB of float64 per block of rows
function BedMatrix:_chunk_size(nrows)
  return math.max(1, math.min(self.p, (1 << 22) // math.max(1, nrows)))
end

-- g:stats([rows]) -> {count=, mean=, sd=}: float64 (P) over the given samples' calls
function BedMatrix:stats(rows, fn)
  fn = fn or "cnn.genomics.BedMatrix:stats"
  rows = index(fn, 1, "rows", rows, self.n)
  local parts = {}
  local step = self.bytes and self.p or math.max(1, (1 << 24) // per(self.n))
  for j0 = 1, self.p, math.max(step, 1) do
    local j1 = math.min(self.p, j0 + step - 1)
    parts[#parts + 1] = A.call_as(fn, D.bed_scan, self:_chunk(j0, j1), self.n, j1 - j0 + 1, rows, nil, fn:gsub("^cnn%.", ""))
  end
  local s = #parts == 1 and parts[1] or cnn.cat(parts, 1)
  return { count = s:select(2, 1):contiguous(), mean = s:select(2, 2):contiguous(), sd = s:select(2, 3):contiguous() }
end

-- g:scan(y [, rows]) -> (P,3) float64: slope, t statistic and count of the regression of y on each
-- variant over rows; y holds one value per row (or per sample when rows is nil)
function BedMatrix:scan(y, rows, fn)
  fn = fn or "cnn.genomics.BedMatrix:scan"
  rows = index(fn, 2, "rows", rows, self.n)
  A.tensor(fn, 1, "y", y)
  y = y:reshape(y:numel()):double():contiguous()
  local parts = {}
  local step = self.bytes and self.p or math.max(1, (1 << 24) // per(self.n))
  for j0 = 1, self.p, math.max(step, 1) do
    local j1 = math.min(self.p, j0 + step - 1)
    parts[#parts + 1] = A.call_as(fn, D.bed_scan, self:_chunk(j0, j1), self.n, j1 - j0 + 1, rows, y, fn:gsub("^cnn%.", ""))
  end
  return #parts == 1 and parts[1] or cnn.cat(parts, 1)
end

-- g:subset(cols) -> an in-memory BedMatrix of these variants (in this order), all samples
function BedMatrix:subset(cols)
  local fn = "cnn.genomics.BedMatrix:subset"
  cols = index(fn, 1, "cols", cols, self.p)
  local b, list, out = per(self.n), cols:totable(), {}
  if self.bytes then
    for k, j in ipairs(list) do out[k] = self.bytes:sub((j - 1) * b + 1, j * b) end
  else
    local f = assert(io.open(self.path, "rb"))
    for k, j in ipairs(list) do f:seek("set", 3 + (j - 1) * b); out[k] = f:read(b) end
    f:close()
  end
  local meta = { samples = self.samples, fid = self.fid, phenotype = self.phenotype }
  for _, k in ipairs({ "variants", "chr", "pos", "a1", "a2" }) do
    if self[k] then local v = {}; for i, j in ipairs(list) do v[i] = self[k][j] end; meta[k] = v end
  end
  return M.from_bytes(table.concat(out), self.n, #list, meta)
end

-- g:batch(rows [, {cols=, center=, scale=, dtype="float32"}]) -> (#rows, #cols) tensor: raw
-- counts (NaN missing) or, with center (and scale), (x - center) * scale with missing -> 0
function BedMatrix:batch(rows, opts)
  local fn = "cnn.genomics.BedMatrix:batch"
  opts = A.opts(fn, 2, opts, { "cols", "center", "scale", "dtype" })
  rows = index(fn, 1, "rows", rows, self.n)
  local cols = index(fn, 2, "cols", opts.cols, self.p)
  local function vec(name, v)
    if v == nil then return nil end
    A.tensor(fn, 2, name, v)
    return v:reshape(v:numel()):double():contiguous()
  end
  local center, scale = vec("center", opts.center), vec("scale", opts.scale)
  if scale and not center then center = cnn.zeros({ scale:numel() }, "float64") end
  if self.bytes then
    return A.call_as(fn, D.bed_batch, self.bytes, self.n, self.p, rows, cols, center, scale, opts.dtype, "genomics.BedMatrix:batch")
  end
  local sub = self:subset(cols or cnn.arange(1, self.p + 1):long())
  return A.call_as(fn, D.bed_batch, sub.bytes, sub.n, sub.p, rows, nil, center, scale, opts.dtype, "genomics.BedMatrix:batch")
end

-- g:block(rows, j0, j1, center, scale): variants j0..j1 of rows as float64, centred (internal)
function BedMatrix:_block(rows, j0, j1, center, scale, dtype)
  local m = j1 - j0 + 1
  return D.bed_batch(self:_chunk(j0, j1), self.n, m, rows, nil, center, scale, dtype or "float64", "genomics")
end

-- ---- a plain (N,P) float tensor behind the same internal interface (any values; NaN missing) ----
local TensorSource = class("cnn.genomics._TensorSource")

function TensorSource:_chunk_size(nrows) return math.max(1, math.min(self.p, (1 << 22) // math.max(1, nrows))) end

function TensorSource:stats(rows)
  local x = rows and self.x:index_select(1, rows) or self.x
  x = x:double()
  local ok = x:eq(x)
  local cnt = ok:double():sum(1)
  local z = x:masked_fill(ok:eq(0), 0)
  local mean = z:sum(1) / cnt:clamp(1)
  local dev = (x - mean):masked_fill(ok:eq(0), 0)
  local sd = ((dev * dev):sum(1) / (cnt - 1):clamp(1)):sqrt()
  return { count = cnt:reshape(self.p), mean = mean:reshape(self.p), sd = sd:reshape(self.p) }
end

function TensorSource:_block(rows, j0, j1, center, scale, dtype)
  local x = rows and self.x:index_select(1, rows) or self.x
  x = x:narrow(2, j0, j1 - j0 + 1):to(dtype or "float64")
  if center then
    x = x - center:reshape(1, center:numel()):to(x:dtype())
    x = x:masked_fill(x:ne(x), 0)
    if scale then x = x * scale:reshape(1, scale:numel()):to(x:dtype()) end
  end
  return x:contiguous()
end

function TensorSource:batch(rows, opts)
  local cols = opts and opts.cols
  local x = rows and self.x:index_select(1, rows) or self.x
  if cols then x = x:index_select(2, cols) end
  x = x:to(opts and opts.dtype or "float32")
  if opts and opts.center then
    x = x - opts.center:reshape(1, opts.center:numel()):to(x:dtype())
    x = x:masked_fill(x:ne(x), 0)
    if opts.scale then x = x * opts.scale:reshape(1, opts.scale:numel()):to(x:dtype()) end
  end
  return x:contiguous()
end

-- single-marker regressions with missing values mean-imputed (tensor ops, column-wise)
function TensorSource:scan(y, rows)
  local x = (rows and self.x:index_select(1, rows) or self.x):double()
  local st = TensorSource.stats({ x = x, p = self.p })
  x = (x - st.mean:reshape(1, self.p)):masked_fill(x:ne(x), 0)
  y = y:reshape(y:numel(), 1):double()
  local yc = y - y:mean()
  local sxx, sxy = (x * x):sum(1), (x * yc):sum(1)
  local n = x:size(1)
  local b = sxy / sxx:clamp(1e-300)
  local rss = ((yc * yc):sum() - b * sxy):clamp(0)
  local se = (rss / math.max(1, n - 2) / sxx:clamp(1e-300)):sqrt()
  local t = (b / se:clamp(1e-300)):masked_fill(sxx:le(1e-12), 0)
  return cnn.stack({ b:reshape(self.p), t:reshape(self.p), cnn.full({ self.p }, n, "float64") }, 2)
end

-- source(fn, i, X): a BedMatrix as it is; an (N,P) tensor of 0/1/2/NaN encoded to bytes (exact,
-- and 16x smaller than float32); any other (N,P) float tensor through tensor ops
function M.source(fn, i, X)
  if getmetatable(X) == BedMatrix then return X end
  if not cnn.is_tensor(X) then A.fail(fn, i, "X", "a cnn.genomics.BedMatrix or an (N,P) tensor", X) end
  A.tensor(fn, i, "X", X)
  if X:dim() ~= 2 or X:dtype() == "int64" and false then A.fail(fn, i, "X", "an (N,P) matrix", X) end
  if X:dtype() == "int64" then X = X:double() end
  local ok, body = pcall(D.bed_encode, X, "genomics")
  if ok then return M.from_bytes(body, X:size(1), X:size(2)) end
  return setmetatable({ x = X, n = X:size(1), p = X:size(2) }, TensorSource)
end

-- read_pheno(path [, g]) -> {ids = {IID...}, fid =, values = float64 tensor}; with a BedMatrix g,
-- the values aligned to g's samples (by FID and IID; NaN where a sample has none). A first line
-- "FID IID ..." is a header; -9 and NA are missing.
function M.read_pheno(path, g)
  local fn = "cnn.genomics.read_pheno"
  A.str(fn, 1, "path", path)
  local f, err = io.open(path, "r")
  if not f then A.error(("%s: %s: cannot open: %s"):format(fn, path, err)) end
  local ids, fids, vals, ln = {}, {}, {}, 0
  for line in f:lines() do
    ln = ln + 1
    local a, b, c = line:match("^%s*(%S+)%s+(%S+)%s+(%S+)")
    if a == nil then
      if line:find("%S") then f:close(); A.error(("%s: %s: line %d: expected FID IID value"):format(fn, path, ln)) end
    elseif not (ln == 1 and a == "FID" and b == "IID") then
      local v = tonumber(c)
      if v == nil and c ~= "NA" and c ~= "NaN" then f:close(); A.error(("%s: %s: line %d: '%s' is not a number (or NA)"):format(fn, path, ln, c)) end
      ids[#ids + 1], fids[#fids + 1], vals[#vals + 1] = b, a, (v == nil or v == -9) and 0 / 0 or v
    end
  end
  f:close()
  if g == nil then return { ids = ids, fid = fids, values = cnn.tensor(vals, "float64") } end
  if getmetatable(g) ~= BedMatrix then A.fail(fn, 2, "g", "a cnn.genomics.BedMatrix", g) end
  local at = {}
  for i, id in ipairs(ids) do at[fids[i] .. "\0" .. id] = vals[i] end
  local out, found = {}, 0
  for i = 1, g.n do
    local v = at[(g.fid and g.fid[i] or g.samples[i]) .. "\0" .. g.samples[i]]
    if v == nil then v = 0 / 0 else found = found + 1 end
    out[i] = v
  end
  if found == 0 then A.error(("%s: %s: no sample of the genotypes (FID IID) has a phenotype here"):format(fn, path)) end
  return { ids = g.samples, fid = g.fid, values = cnn.tensor(out, "float64") }
end

-- write_pheno(path, ids, values [, fid]): "FID IID trait" then one line per sample, atomically
function M.write_pheno(path, ids, values, fid, name)
  local v = values:double():totable()
  local out = { "FID IID " .. (name or "trait") }
  for i, id in ipairs(ids) do
    out[#out + 1] = ("%s %s %s"):format(fid and fid[i] or id, id, v[i] ~= v[i] and "-9" or ("%.10g"):format(v[i]))
  end
  A.call(cnn._file.write, path, table.concat(out, "\n") .. "\n", "genomics.write_pheno")
end

return M
