-- cnn.genomics.simulate_genotypes: a cohort of N diploid individuals x P biallelic markers with
-- linkage-disequilibrium blocks and a neutral allele-frequency spectrum, and a quantitative trait
-- of chosen heritability from additive QTL effects plus, when asked, pairwise epistasis and
-- dominance. Generated in chunks of whole LD blocks with tensor ops and encoded at once to PLINK's
-- 2-bit codes, so the floats of one chunk are all that exist at a time.
--
-- Model. Allele frequencies: minor-allele frequencies from the neutral site-frequency spectrum
-- (density proportional to 1/f, truncated to [maf_min, 0.5]), the counted allele (A1) the minor
-- or the major one at random. Haplotypes: within a block of ld_block markers a latent Gaussian
-- AR(1) chain with neighbour correlation `ld` (reset at each block), thresholded at the
-- frequency's normal quantile (marginally exact frequencies, LD decaying with distance, none
-- between blocks); dosage = sum of two haplotypes (Hardy-Weinberg). Trait: `qtl` markers drawn at
-- random; additive effects a ~ N(0,1) on centred dosages, dominance effects d ~ N(0,1) on the
-- centred heterozygote indicator, and qtl additive x additive pairs (each QTL with a random
-- other one) with effects ~ N(0,1) on the product of centred dosages. Each part is scaled to its
-- share of the genetic variance (dominance, epistasis, the rest additive), the genetic value to
-- variance 1, and the residual ~ N(0, (1 - h2) / h2), so h2 is the broad-sense heritability.
-- Spec: genomics_gp_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local B = require "cnn.genomics.bedmatrix"
local D = cnn._data

-- the standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9)
local function qnorm(p)
  local a = { -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00 }
  local b = { -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01 }
  local c = { -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00 }
  local d = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00 }
  if p < 0.02425 then
    local q = math.sqrt(-2 * math.log(p))
    return (((((c[1] * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) * q + c[6]) / ((((d[1] * q + d[2]) * q + d[3]) * q + d[4]) * q + 1)
  elseif p > 1 - 0.02425 then
    return -qnorm(1 - p)
  end
  local q = p - 0.5
  local r = q * q
  return (((((a[1] * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * r + a[6]) * q / (((((b[1] * r + b[2]) * r + b[3]) * r + b[4]) * r + b[5]) * r + 1)
end

local function scaled(g, share)
  if share <= 0 then return nil end
  local sd = g:std():item()
  if not (sd > 0) then return nil end
  return (g - g:mean()) * (math.sqrt(share) / sd)
end

local ALLOWED = { "n", "p", "qtl", "h2", "ld_block", "ld", "maf_min", "epistasis", "dominance", "seed", "out", "stream", "progress" }

return function(opts)
  local fn = "cnn.genomics.simulate_genotypes"
  opts = A.opts(fn, 1, opts, ALLOWED)
  local n = A.int(fn, 1, "n", opts.n, 2)
  local p = A.int(fn, 1, "p", opts.p, 1)
  local nq = A.int(fn, 1, "qtl", opts.qtl, 1, math.min(100, p))
  if nq > p then A.fail(fn, 1, "qtl", ("at most p = %d"):format(p), nq) end
  local h2 = A.finite(fn, 1, "h2", opts.h2, 0.5, 0, 1)
  if h2 <= 0 then A.fail(fn, 1, "h2", "a number in (0, 1]", h2) end
  local L = A.int(fn, 1, "ld_block", opts.ld_block, 1, 20)
  local rho = A.finite(fn, 1, "ld", opts.ld, 0.9, 0, 0.999)
  local maf = A.finite(fn, 1, "maf_min", opts.maf_min, 0.05, 1e-4, 0.5)
  local epi = A.finite(fn, 1, "epistasis", opts.epistasis, 0, 0, 1)
  local dom = A.finite(fn, 1, "dominance", opts.dominance, 0, 0, 1)
  if epi + dom > 1 then A.fail(fn, 1, "epistasis", ("at most 1 - dominance = %g"):format(1 - dom), epi) end
  local seed = A.int(fn, 1, "seed", opts.seed, 0, 1)
  local out = opts.out ~= nil and A.str(fn, 1, "out", opts.out) or nil
  local stream = A.bool(fn, 1, "stream", opts.stream, false)
  if stream and not out then A.fail(fn, 1, "stream", "false unless out is given", stream) end
  local show = A.bool(fn, 1, "progress", opts.progress, false)
  cnn.manual_seed(seed)

  -- frequencies of the counted allele, and the latent thresholds
  local u = cnn.rand({ p }, "float64"):totable()
  local flip = cnn.rand({ p }, "float64"):totable()
  local freq, thr = {}, {}
  for j = 1, p do
    local f = maf * (0.5 / maf) ^ u[j]
    if flip[j] < 0.5 then f = 1 - f end
    freq[j], thr[j] = f, qnorm(f)
  end
  local qtl = cnn.randperm(p):narrow(1, 1, nq):totable()
  table.sort(qtl)
  local is_qtl = {}
  for k, j in ipairs(qtl) do is_qtl[j] = k end

  -- the AR(1) filter of one block: z = e T, T[k][j] = c_k rho^(j-k) for j >= k
  local T = {}
  for k = 1, L do
    T[k] = {}
    for j = 1, L do T[k][j] = j < k and 0 or (k == 1 and 1 or math.sqrt(1 - rho * rho)) * rho ^ (j - k) end
  end
  T = cnn.tensor(T)

  local blocks_per_chunk = math.max(1, ((1 << 22) // (2 * n)) // L)
  local chunk = blocks_per_chunk * L
  local bodies, tmpf, tmp = {}, nil, nil
  if out and stream then
    tmp = out .. ".bed.tmp"
    tmpf = io.open(tmp, "wb")
    if not tmpf then A.error(("%s: cannot write %s"):format(fn, tmp)) end
    tmpf:write("\x6c\x1b\x01")
  end
  local qcols, qorder = {}, {}
  local bar = show and cnn.progress.bar(p, { desc = "simulate" }) or nil
  for j0 = 1, p, chunk do
    local m = math.min(chunk, p - j0 + 1)
    local nb = (m + L - 1) // L
    local z = cnn.matmul(cnn.randn(2 * n * nb, L), T)                        -- (2n nb, L)
    z = z:view(2 * n, nb * L):narrow(2, 1, m)
    local t = cnn.tensor(table.move(thr, j0, j0 + m - 1, 1, {})):view(1, m)
    local hap = z:lt(t)                                                      -- 1 = the counted allele
    local x = hap:narrow(1, 1, n) + hap:narrow(1, n + 1, n)                  -- (n, m) dosages
    local local_q = {}
    for j = j0, j0 + m - 1 do if is_qtl[j] then local_q[#local_q + 1] = j - j0 + 1; qorder[#qorder + 1] = is_qtl[j] end end
    if #local_q > 0 then qcols[#qcols + 1] = x:index_select(2, local_q):double() end
    local body = D.bed_encode(x, "genomics.simulate_genotypes")
    if tmpf then tmpf:write(body) else bodies[#bodies + 1] = body end
    if bar then bar:update(m) end
  end
  if bar then bar:close() end

  -- the trait
  local Xq = cnn.cat(qcols, 2)                                               -- (n, qtl), in qtl order
  local Xc = Xq - Xq:mean(1, true)
  local a = cnn.randn({ nq, 1 }, "float64")
  local d = cnn.randn({ nq, 1 }, "float64")
  local pairs = cnn.randperm(nq):totable()
  local e = cnn.randn({ nq, 1 }, "float64")
  local parts = {}
  parts[1] = scaled(cnn.matmul(Xc, a):view(n), 1 - epi - dom)
  if dom > 0 then
    local H = Xq:eq(1):double()
    parts[2] = scaled(cnn.matmul(H - H:mean(1, true), d):view(n), dom)
  end
  if epi > 0 then
    local P2 = Xc:index_select(2, pairs)
    parts[3] = scaled(cnn.matmul(Xc * P2, e):view(n), epi)
  end
  local G = cnn.zeros({ n }, "float64")
  for k = 1, 3 do if parts[k] then G = G + parts[k] end end
  local sdG = G:std():item()
  if sdG > 0 then G = (G - G:mean()) / sdG end
  local y = G + cnn.randn({ n }, "float64") * math.sqrt((1 - h2) / h2)

  local samples, variants, chr, pos = {}, {}, {}, {}
  for i = 1, n do samples[i] = "ind" .. i end
  for j = 1, p do variants[j], chr[j], pos[j] = "snp" .. j, 1, j * 1000 end
  local a1, a2 = {}, {}
  for j = 1, p do a1[j], a2[j] = "A", "G" end
  local meta = { samples = samples, fid = samples, variants = variants, chr = chr, pos = pos, a1 = a1, a2 = a2,
                 phenotype = y, y = y, genetic = G, qtl = cnn.tensor(qtl, "int64"), freq = cnn.tensor(freq, "float64"),
                 effects = { additive = a:view(nq), dominance = dom > 0 and d:view(nq) or nil,
                             epistasis = epi > 0 and e:view(nq) or nil, pairs = epi > 0 and cnn.tensor(pairs, "int64") or nil },
                 h2 = h2, epistasis = epi, dominance = dom, seed = seed }
  local g
  if tmpf then
    tmpf:close()
    g = B.from_bytes(nil, n, p, meta)
  else
    g = B.from_bytes(table.concat(bodies), n, p, meta)
  end
  if out then
    local fam, bim = {}, {}
    local yt = y:totable()
    for i = 1, n do fam[i] = ("%s %s 0 0 0 %.10g"):format(samples[i], samples[i], yt[i]) end
    for j = 1, p do bim[j] = ("1\tsnp%d\t0\t%d\tA\tG"):format(j, j * 1000) end
    A.call(cnn._file.write, out .. ".fam", table.concat(fam, "\n") .. "\n", "genomics.simulate_genotypes")
    A.call(cnn._file.write, out .. ".bim", table.concat(bim, "\n") .. "\n", "genomics.simulate_genotypes")
    if tmpf then
      local ok, err = os.rename(tmp, out .. ".bed")
      if not ok then A.error(("%s: cannot rename %s: %s"):format(fn, tmp, err)) end
      g.path = out .. ".bed"
    else
      A.call(cnn._file.write, out .. ".bed", "\x6c\x1b\x01" .. g.bytes, "genomics.simulate_genotypes")
    end
    B.write_pheno(out .. ".pheno", samples, y, samples, "trait")
  end
  return g
end
