-- PyTorch parity of cnn.linalg: each case in fixtures/linalg.lua (written by gen_linalg.py) gives
-- inputs, PyTorch's outputs (eigenvectors with the sign of their first row made positive, singular
-- vectors as absolute values) and, for the differentiable ops, the gradients of
-- sum(out_i * gout_i); float64 is checked to rtol 1e-9, float32 to rtol 1e-3.
local cnn = require "cnn"
local linalg = cnn.linalg

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/parity"
local TOL = { float64 = { rtol = 1e-9, atol = 1e-11 }, float32 = { rtol = 1e-3, atol = 1e-4 } }

local function colsign(v) return v * v:narrow(-2, 1, 1):sign() end

local OPS = {
  solve = function(a, b) return { linalg.solve(a, b) } end,
  cholesky = function(a) return { linalg.cholesky(a) } end,
  cholesky_solve = function(b, l) return { linalg.cholesky_solve(b, l) } end,
  inv = function(a) return { linalg.inv(a) } end,
  slogdet = function(a) return { linalg.slogdet(a) } end,
  eigh = function(a) local w, v = linalg.eigh(a); return { w, colsign(v) } end,
  svd = function(a) local u, s, vh = linalg.svd(a, { full_matrices = false }); return { u:abs(), s, vh:abs() } end,
  svd_full = function(a) local u, s, vh = linalg.svd(a); return { u:abs(), s, vh:abs() } end,
  qr = function(a) return { linalg.qr(a) } end,
  lstsq = function(a, b) return { linalg.lstsq(a, b) } end,
}

local function fixture(t, dtype) return cnn.tensor(t.data, dtype):view(t.shape) end

local function check(got, want, tol, what)
  local w = fixture(want, "float64")
  assert.are.same(want.shape, got:size(), what .. ": shape")
  local err = ((got:double() - w):abs() - (w:abs() * tol.rtol + tol.atol)):max():item()
  assert(err <= 0, ("%s: differs from PyTorch beyond rtol %g, atol %g (by %g)"):format(what, tol.rtol, tol.atol, err))
end

local function run(cs, dtype)
  local ref = dtype == "float64" and cs.f64 or cs.f32
  local diff = ref.grads ~= false
  local xs = {}
  for i, t in ipairs(cs.inputs) do
    xs[i] = fixture(t, dtype)
    if diff then xs[i]:requires_grad(true) end
  end
  local outs = OPS[cs.op](table.unpack(xs))
  for i, o in ipairs(outs) do check(o, ref.outs[i], TOL[dtype], ("%s (%s) output %d"):format(cs.name, dtype, i)) end
  if not diff then return end
  local loss
  for i, o in ipairs(outs) do
    if o:requires_grad() then
      local term = (o * fixture(cs.gouts[i], dtype)):sum()
      loss = loss and loss + term or term
    end
  end
  loss:backward()
  for i, x in ipairs(xs) do
    check(x.grad, ref.grads[i], TOL[dtype], ("%s (%s) gradient %d"):format(cs.name, dtype, i))
  end
end

describe("PyTorch parity, linalg", function()
  local cases = dofile(here .. "/fixtures/linalg.lua")
  for _, cs in ipairs(cases) do
    it(cs.name, function()
      run(cs, "float64")
      run(cs, "float32")
    end)
  end
end)
