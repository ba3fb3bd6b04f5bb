-- PyTorch parity of sorting and gathering: each case in fixtures/sort.lua (written by gen_sort.py)
-- gives the op's arguments in cnn's 1-based form, inputs, PyTorch's outputs (indices made 1-based:
-- checked exactly) and, for the differentiable ops, the gradients of sum(out_i * gout_i);
-- float64 is checked to rtol 1e-12, float32 to rtol 1e-5.
local cnn = require "cnn"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/parity"
local TOL = { float64 = { rtol = 1e-12, atol = 1e-14 }, float32 = { rtol = 1e-5, atol = 1e-6 } }

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

local function fixture(t, dtype) return cnn.tensor(t.data, dtype):view(t.shape) end

local function check(got, want, tol, what)
  assert.are.same(want.shape, got:size(), what .. ": shape")
  if got:dtype() == "int64" then         -- indices, counts: exactly
    assert.are.same(fixture(want, "int64"):totable(), got:totable(), what)
    return
  end
  local w = fixture(want, "float64")
  local g = got:double()
  local nan_g, nan_w = g:ne(g), w:ne(w)                  -- NaN where PyTorch has NaN
  assert.are.same(nan_w:totable(), nan_g:totable(), what .. ": NaN positions")
  local same = g:eq(w):add(nan_w):gt(0)                 -- equal (infinities too) or both NaN
  w = w:masked_fill(same, 0)
  g = g:masked_fill(same, 0)
  local err = ((g - w):abs() - (w:abs() * tol.rtol + tol.atol)):max():item()
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
  local outs
  if cs.op == "searchsorted" or cs.op == "scatter_add" then outs = OPS[cs.op](xs[1], cs.args, xs[2])
  else outs = OPS[cs.op](xs[1], cs.args) end
  assert.are.equal(#ref.outs, #outs, cs.name .. ": number of outputs")
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

describe("PyTorch parity, sorting and gathering", function()
  local cases = dofile(here .. "/fixtures/sort.lua")
  for _, cs in ipairs(cases) do
    it(cs.name, function()
      run(cs, "float64")
      run(cs, "float32")
    end)
  end
end)
