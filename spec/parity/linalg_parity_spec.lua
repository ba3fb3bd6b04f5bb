-- PyTorch parity of cnn.linalg: each case in fixtures/linalg.lua (written by gen_linalg.py) gives
-- inputs, PyTorch's outputs (eigenvectors with the sign of their first row made positive, singular
-- vectors as absolute values) and, for the differentiable ops, the gradients of
-- sum(out_i * gout_i); float64 is checked to rtol 1e-9, float32 to rtol 1e-3.
local cnn = require "cnn"
local linalg = cnn.linalg

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/parity"
local TOL = { float64 = { rtol = 1e-9, atol = 1e-11 }, float32 = { rtol = 1e-3, atol = 1e-4 } }

local P = dofile(here .. "/harness.lua")

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

local call = function(cs, xs) return OPS[cs.op](table.unpack(xs)) end

describe("PyTorch parity, linalg", function()
  for _, cs in ipairs(dofile(here .. "/fixtures/linalg.lua")) do
    it(cs.name, function() P.run(cs, TOL, call) end)
  end
end)
