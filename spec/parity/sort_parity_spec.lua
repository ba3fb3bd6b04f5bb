-- PyTorch parity of sorting and gathering: each case in fixtures/sort.lua (written by gen_sort.py)
-- gives the op's arguments in cnn's 1-based form, inputs, PyTorch's outputs (indices made 1-based:
-- checked exactly) and, for the differentiable ops, the gradients of sum(out_i * gout_i);
-- float64 is checked to rtol 1e-12, float32 to rtol 1e-5.
local cnn = require "cnn"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/parity"
local TOL = { float64 = { rtol = 1e-12, atol = 1e-14 }, float32 = { rtol = 1e-5, atol = 1e-6 } }

local P = dofile(here .. "/harness.lua")

local function idx(a) return cnn.tensor(a, "int64") end

local OPS = {
  sort = function(x, a) return { x:sort(a.dim, { descending = a.descending }) } end,
  topk = function(x, a) return { x:topk(a.k, a.dim, { largest = a.largest }) } end,
  gather = function(x, a) return { x:gather(a.dim, idx(a.index)) } end,
  scatter_add = function(x, a, src) return { x:scatter_add(a.dim, idx(a.index), src) } end,
  cumsum = function(x, a) return { x:cumsum(a.dim) } end,
  cumprod = function(x, a) return { x:cumprod(a.dim) } end,
  flip = function(x, a) return { x:flip(a.dims) } end,
  roll = function(x, a) return { x:roll(a.shifts, a.dims) } end,
  unique = function(x) return { cnn.unique(x, { return_inverse = true, return_counts = true }) } end,
  nonzero = function(x) return { x:nonzero() } end,
  searchsorted = function(s, a, v) return { cnn.searchsorted(s, v, { right = a.right }) } end,
}

local call = function(cs, xs)
  if cs.op == "searchsorted" or cs.op == "scatter_add" then return OPS[cs.op](xs[1], cs.args, xs[2]) end
  return OPS[cs.op](xs[1], cs.args)
end

describe("PyTorch parity, sorting and gathering", function()
  for _, cs in ipairs(dofile(here .. "/fixtures/sort.lua")) do
    it(cs.name, function() P.run(cs, TOL, call) end)
  end
end)
