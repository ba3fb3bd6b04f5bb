-- The linear baselines of genomic prediction: VanRaden's genomic relationship matrix, GBLUP with
-- variance components by REML through one eigendecomposition (the spectral method of EMMA, Kang et
-- al. 2008, and of rrBLUP's mixed.solve), ridge regression on the markers (unpenalised intercept)
-- with lambda by k-fold cross-validation, and marker preselection by single-marker regression on
-- the training individuals only. Everything goes through the kernel K = Z Z' of the centred
-- markers, built in chunks of markers decoded from the 2-bit codes (BLAS for the products, LAPACK
-- ?syevd for the eigendecomposition), so no (N,P) float matrix ever exists.
-- Spec: genomics_gp_spec.lua (GRM by hand, REML against numpy, ridge against the closed form).
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local class = require "cnn._class"
local B = require "cnn.genomics.bedmatrix"
local M = {}

local LOG2PI = math.log(2 * math.pi)

-- y as a float64 vector of the N samples (tensor or list)
local function yvec(fn, i, y, n)
  if type(y) == "table" and not cnn.is_tensor(y) then y = A.numbers(fn, i, "y", y) end
  if not cnn.is_tensor(y) then A.fail(fn, i, "y", "a tensor or a list of numbers", y) end
  A.tensor(fn, i, "y", y)
  y = y:reshape(y:numel()):double():contiguous()
  if n and y:numel() ~= n then A.fail(fn, i, "y", ("%d values (one per sample)"):format(n), y) end
  return y
end

-- the training values y[rows], all finite
local function ytrain(fn, i, y, rows)
  local yt = rows and y:index_select(1, rows) or y
  if yt:ne(yt):sum():item() > 0 then
    A.error(("%s: argument %d (y): a training sample's phenotype is missing (NaN): drop it from rows"):format(fn, i))
  end
  return yt
end

-- K = Zr Zc' over the markers, Z = (x - center) * scale, missing -> 0; rows/cols: sample lists
-- (int64 or nil = all). Also calls each(j0, j1, Zr_block) when given (for marker effects).
local function kernel(src, rows, cols, center, scale, each)
  local nr = rows and rows:numel() or src.n
  local step = src:_chunk_size(nr + (cols and cols:numel() or 0))
  local K
  for j0 = 1, src.p, step do
    local j1 = math.min(src.p, j0 + step - 1)
    local c = center:narrow(1, j0, j1 - j0 + 1):contiguous()
    local s = scale and scale:narrow(1, j0, j1 - j0 + 1):contiguous() or nil
    local Zr = src:_block(rows, j0, j1, c, s)
    local Zc = cols and src:_block(cols, j0, j1, c, s) or Zr
    local part = cnn.matmul(Zr, Zc:t())
    K = K and K:add_(part) or part
    if each then each(j0, j1, Zr) end
  end
  return K
end

-- b = Z' alpha over the markers (P), Z of rows centred (and scaled)
local function marker_effects(src, rows, center, scale, alpha)
  local parts = {}
  local nr = rows and rows:numel() or src.n
  local step = src:_chunk_size(nr)
  local a = alpha:view(alpha:numel(), 1)
  for j0 = 1, src.p, step do
    local j1 = math.min(src.p, j0 + step - 1)
    local c = center:narrow(1, j0, j1 - j0 + 1):contiguous()
    local s = scale and scale:narrow(1, j0, j1 - j0 + 1):contiguous() or nil
    parts[#parts + 1] = cnn.matmul(src:_block(rows, j0, j1, c, s):t(), a):view(j1 - j0 + 1)
  end
  return #parts == 1 and parts[1] or cnn.cat(parts, 1)
end

-- Z_new b, Z_new centred like the training markers
local function project(src, rows, center, scale, b)
  local nr = rows and rows:numel() or src.n
  local out = cnn.zeros({ nr }, "float64")
  local step = src:_chunk_size(nr)
  for j0 = 1, src.p, step do
    local j1 = math.min(src.p, j0 + step - 1)
    local c = center:narrow(1, j0, j1 - j0 + 1):contiguous()
    local s = scale and scale:narrow(1, j0, j1 - j0 + 1):contiguous() or nil
    out:add_(cnn.matmul(src:_block(rows, j0, j1, c, s), b:narrow(1, j0, j1 - j0 + 1):view(j1 - j0 + 1, 1)):view(nr))
  end
  return out
end

-- ---- GRM ----

-- grm(X [, {rows=}]) -> (n,n) float64: Z Z' / (2 sum p(1-p)), Z = X - 2p with p the frequency of
-- the counted allele over rows (missing calls -> 2p, i.e. 0 in Z)
function M.grm(X, opts)
  local fn = "cnn.genomics.grm"
  local src = B.source(fn, 1, X)
  opts = A.opts(fn, 2, opts, { "rows" })
  local rows = B.index(fn, 2, "rows", opts.rows, src.n)
  local st = src:stats(rows)
  local m = st.mean:masked_fill(st.mean:ne(st.mean), 0)
  local c = (m * (m * -0.5 + 1)):sum():item()        -- sum 2p(1-p) with m = 2p
  if not (c > 0) then A.error(fn .. ": every marker is monomorphic in these samples (sum 2p(1-p) = 0)") end
  return kernel(src, rows, nil, m, nil) / c, m, c
end

-- ---- the spectral REML of EMMA: K = U diag(d) U', H = K + delta I ----

-- restricted log-likelihood at delta (intercept as the only fixed effect), vectorised over a
-- list of deltas: d (n), yr = U'y, xr = U'1
local function reml(d, yr, xr, deltas)
  local n = d:numel()
  local dl = cnn.tensor(deltas, "float64"):view(1, #deltas)
  local Hd = d:view(n, 1) + dl                          -- (n, G)
  local w = Hd:reciprocal()
  local x2, y2, xy = (xr * xr):view(n, 1), (yr * yr):view(n, 1), (xr * yr):view(n, 1)
  local sxx, sxy, syy = (w * x2):sum(1), (w * xy):sum(1), (w * y2):sum(1)
  local beta = sxy / sxx
  local R = syy - beta * sxy                            -- r'H^-1 r
  local ll = ((R / (n - 1)):log() * (n - 1) + (LOG2PI + 1) * (n - 1) + Hd:log():sum(1) + sxx:log()) * -0.5
  return ll:view(#deltas), beta:view(#deltas), R:view(#deltas)
end

local function reml_fit(d, yr, xr)
  local grid = {}
  for k = 0, 100 do grid[k + 1] = math.exp(-10 + 20 * k / 100) end
  local ll = reml(d, yr, xr, grid):totable()
  local best = 1
  for k = 2, #ll do if ll[k] > ll[best] then best = k end end
  -- golden-section search on log(delta) between the neighbours of the best grid point
  local lo, hi = math.log(grid[math.max(1, best - 1)]), math.log(grid[math.min(#grid, best + 1)])
  local f = function(t) return reml(d, yr, xr, { math.exp(t) })[1] end
  local gr = (math.sqrt(5) - 1) / 2
  local a, b = hi - gr * (hi - lo), lo + gr * (hi - lo)
  local fa, fb = f(a), f(b)
  for _ = 1, 80 do
    if fa > fb then hi, b, fb = b, a, fa; a = hi - gr * (hi - lo); fa = f(a)
    else lo, a, fa = a, b, fb; b = lo + gr * (hi - lo); fb = f(b) end
    if hi - lo < 1e-10 then break end
  end
  local t = (lo + hi) / 2
  return math.exp(t), f(t)
end

local Gblup = class("cnn.genomics.GBLUP")

-- gblup{X = | grm =, y =, [rows =], [lambda =]}
function M.gblup(opts)
  local fn = "cnn.genomics.gblup"
  opts = A.opts(fn, 1, opts, { "X", "grm", "y", "rows", "lambda" })
  if (opts.X == nil) == (opts.grm == nil) then A.fail(fn, 1, "X", "either X (markers) or grm (a relationship matrix), not both", opts.X) end
  local lambda = opts.lambda ~= nil and A.finite(fn, 1, "lambda", opts.lambda, nil, 0) or nil
  local src, rows, K, m, c
  if opts.X ~= nil then
    src = B.source(fn, 1, opts.X)
    rows = B.index(fn, 1, "rows", opts.rows, src.n)
    local st = src:stats(rows)
    m = st.mean:masked_fill(st.mean:ne(st.mean), 0)
    c = (m * (m * -0.5 + 1)):sum():item()
    if not (c > 0) then A.error(fn .. ": every marker is monomorphic in the training samples") end
    K = kernel(src, rows, nil, m, nil) / c
  else
    A.tensor(fn, 1, "grm", opts.grm)
    K = opts.grm:double()
    if K:dim() ~= 2 or K:size(1) ~= K:size(2) then A.fail(fn, 1, "grm", "a square (n,n) matrix", opts.grm) end
    if opts.rows ~= nil then
      rows = B.index(fn, 1, "rows", opts.rows, K:size(1))
      K = K:index_select(1, rows):index_select(2, rows)
    end
  end
  local N = src and src.n or opts.grm:size(1)
  local y = ytrain(fn, 1, yvec(fn, 1, opts.y, N), rows)
  local n = y:numel()
  if n < 3 then A.error(fn .. ": at least 3 training samples are needed") end
  local d, U = cnn.linalg.eigh(K)
  d = d:clamp(0)
  local yr = cnn.matmul(U:t(), y:view(n, 1)):view(n)
  local xr = U:sum(1)                                   -- U'1
  local delta, ll
  if lambda then delta = lambda; ll = reml(d, yr, xr, { delta })[1] else delta, ll = reml_fit(d, yr, xr) end
  local _, beta, R = reml(d, yr, xr, { delta })
  beta, R = beta[1], R[1]
  local vg = R / (n - 1)
  local r = yr - xr * beta
  local self = setmetatable({ vg = vg, ve = delta * vg, h2 = 1 / (1 + delta), lambda = delta, beta = beta,
                              loglik = ll, n = n, method = lambda and "fixed lambda" or "REML" }, Gblup)
  self.breeding_values = cnn.matmul(U, (r * d / (d + delta)):view(n, 1)):view(n)
  self._alpha = cnn.matmul(U, (r / (d + delta)):view(n, 1)):view(n)     -- H^-1 (y - 1 beta)
  if src then
    self._center, self._c, self._p = m, c, src.p
    self.marker_effects = marker_effects(src, rows, m, nil, self._alpha) / c
  end
  return self
end

-- m:predict(X_new [, rows]) -> float64 (#rows): beta + Z_new a, Z_new centred with the training
-- frequencies; for a model fitted on grm=, X_new is the (m, n) relationship of the new samples
-- with the training ones
function Gblup:predict(X, rows)
  local fn = "cnn.genomics.GBLUP:predict"
  if self.marker_effects == nil then
    A.tensor(fn, 1, "grm", X)
    if X:dim() ~= 2 or X:size(2) ~= self.n then A.fail(fn, 1, "grm", ("an (m, %d) relationship matrix"):format(self.n), X) end
    return cnn.matmul(X:double(), self._alpha:view(self.n, 1)):view(X:size(1)) + self.beta
  end
  local src = B.source(fn, 1, X)
  if src.p ~= self._p then A.fail(fn, 1, "X", ("%d markers, as in training"):format(self._p), ("%d markers"):format(src.p)) end
  rows = B.index(fn, 2, "rows", rows, src.n)
  return project(src, rows, self._center, nil, self.marker_effects) + self.beta
end

-- ---- ridge ----

-- the re-centring of a kernel of centred rows on the mean of the subset a (indices into K):
-- (z_i - mean_a z) . (z_j - mean_a z) = K_ij - u_i - u_j + s
local function recentre(K, a, ri, ci)
  local na = a:numel()
  local u = K:index_select(2, a):sum(2) / na                 -- (n)
  local s = u:index_select(1, a):sum():item() / na
  local Kri = K:index_select(1, ri):index_select(2, ci)
  return Kri - u:index_select(1, ri):view(ri:numel(), 1) - u:index_select(1, ci):view(1, ci:numel()) + s
end

-- predictions at validation rows for each lambda, from training rows a of a centred kernel K
local function ridge_path(K, y, a, v, lambdas)
  local Kaa = recentre(K, a, a, a)
  local Kva = recentre(K, a, v, a)
  local ya = y:index_select(1, a)
  local ym = ya:mean():item()
  local d, U = cnn.linalg.eigh(Kaa)
  d = d:clamp(0)
  local q = cnn.matmul(U:t(), (ya - ym):view(a:numel(), 1))       -- (na, 1)
  local lam = cnn.tensor(lambdas, "float64"):view(1, #lambdas)
  local C = cnn.matmul(U, q / (d:view(d:numel(), 1) + lam))     -- (na, G)
  return cnn.matmul(Kva, C) + ym                                 -- (nv, G)
end

local Ridge = class("cnn.genomics.Ridge")

-- ridge{X =, y =, [rows =], [lambda =] | [lambdas =, folds = 5, seed = 1]}
function M.ridge(opts)
  local fn = "cnn.genomics.ridge"
  opts = A.opts(fn, 1, opts, { "X", "y", "rows", "lambda", "lambdas", "folds", "seed" })
  local src = B.source(fn, 1, opts.X)
  local rows = B.index(fn, 1, "rows", opts.rows, src.n)
  local y = ytrain(fn, 1, yvec(fn, 1, opts.y, src.n), rows)
  local n = y:numel()
  if n < 2 then A.error(fn .. ": at least 2 training samples are needed") end
  local st = src:stats(rows)
  local m = st.mean:masked_fill(st.mean:ne(st.mean), 0)
  local K = kernel(src, rows, nil, m, nil)                        -- centred on the training means
  local self = setmetatable({ n = n, _p = src.p, _center = m }, Ridge)
  local lambda = opts.lambda ~= nil and A.finite(fn, 1, "lambda", opts.lambda, nil, 0) or nil
  if lambda == nil then
    local folds = A.int(fn, 1, "folds", opts.folds, 2, 5)
    if folds > n then A.fail(fn, 1, "folds", ("at most the %d training samples"):format(n), folds) end
    local lambdas = opts.lambdas
    if lambdas == nil then
      local scale = math.max((K * cnn.eye(n, "float64")):sum():item() / n, 1e-12)   -- mean diagonal
      lambdas = {}
      for k = 0, 20 do lambdas[#lambdas + 1] = scale * 10 ^ (-2 + k * 0.25) end
    else
      lambdas = A.numbers(fn, 1, "lambdas", lambdas):totable()
      if #lambdas == 0 then A.fail(fn, 1, "lambdas", "a non-empty list of numbers >= 0", opts.lambdas) end
      for k, l in ipairs(lambdas) do if not (l >= 0) then A.fail(fn, 1, ("lambdas[%d]"):format(k), "a number >= 0", l) end end
    end
    local parts = cnn.data.kfold(n, folds, { seed = A.int(fn, 1, "seed", opts.seed, 0, 1) })
    local sse = cnn.zeros({ #lambdas }, "float64")
    for _, f in ipairs(parts) do
      local a, v = f.train:long(), f.test:long()
      local pred = ridge_path(K, y, a, v, lambdas)
      local err = pred - y:index_select(1, v):view(v:numel(), 1)
      sse:add_((err * err):sum(1))
    end
    local mse = (sse / n):totable()
    local best = 1
    for k = 2, #mse do if mse[k] < mse[best] then best = k end end
    lambda = lambdas[best]
    self.cv = { lambdas = lambdas, mse = mse, folds = folds }
  end
  self.lambda = lambda
  local d, U = cnn.linalg.eigh(K)
  d = d:clamp(0)
  local ym = y:mean():item()
  local q = cnn.matmul(U:t(), (y - ym):view(n, 1)):view(n)
  local alpha = cnn.matmul(U, (q / (d + lambda)):view(n, 1)):view(n)    -- (K + lambda I)^-1 (y - ybar)
  self.coef = marker_effects(src, rows, m, nil, alpha)
  self.intercept = ym - (m * self.coef):sum():item()
  self._ym = ym
  return self
end

-- r:predict(X [, rows]) -> float64: intercept + X coef (missing calls count as the training mean)
function Ridge:predict(X, rows)
  local fn = "cnn.genomics.Ridge:predict"
  local src = B.source(fn, 1, X)
  if src.p ~= self._p then A.fail(fn, 1, "X", ("%d markers, as in training"):format(self._p), ("%d markers"):format(src.p)) end
  rows = B.index(fn, 2, "rows", rows, src.n)
  return project(src, rows, self._center, nil, self.coef) + self._ym
end

-- ---- preselection ----

-- preselect(X, y, {rows =, k =}) -> int64 indices (ascending) of the k markers with the largest
-- |t| of the single-marker regression of y on the dosage over the training rows only, and the
-- (P,3) statistics (slope, t, calls). Only y[rows] and the rows' genotypes are read.
function M.preselect(X, y, opts)
  local fn = "cnn.genomics.preselect"
  local src = B.source(fn, 1, X)
  opts = A.opts(fn, 3, opts, { "rows", "k" })
  local rows = B.index(fn, 3, "rows", opts.rows, src.n)
  local k = A.int(fn, 3, "k", opts.k, 1)
  if k > src.p then A.fail(fn, 3, "k", ("at most the %d markers"):format(src.p), k) end
  y = yvec(fn, 2, y, src.n)
  local yt = ytrain(fn, 2, y, rows)
  local stats = src:scan(yt, rows, fn)
  local t = stats:select(2, 2):abs():totable()
  local order = {}
  for j = 1, #t do order[j] = j; if t[j] ~= t[j] then t[j] = -1 end end
  table.sort(order, function(a, b) if t[a] ~= t[b] then return t[a] > t[b] end return a < b end)
  local keep = table.move(order, 1, k, 1, {})
  table.sort(keep)
  return cnn.tensor(keep, "int64"), stats
end

return M
