-- The parity specs whose fixtures (written by a gen_*.py) give each case's inputs, PyTorch's
-- outputs and, for differentiable ops, the gradients of sum(out_i * gout_i): one way to read a
-- fixture, compare (int64 exactly; floats to rtol/atol, NaN where PyTorch has NaN) and run a case.
-- Used by sort_parity_spec.lua and linalg_parity_spec.lua.
local cnn = require "cnn"
local assert = require "luassert"     -- busted's assert is the spec file's, not a global
local P = {}

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

local function run(cs, dtype, TOL, call)
  local ref = dtype == "float64" and cs.f64 or cs.f32
  local diff = ref.grads ~= false
  local xs = {}
  for i, t in ipairs(cs.inputs) do
    xs[i] = fixture(t, dtype)
    if diff then xs[i]:requires_grad(true) end
  end
  local outs = call(cs, xs)
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


-- P.run(cs, TOL, call): the case in float64, then float32; call(cs, xs) runs the case's op on its
-- inputs and returns the list of outputs. (The specs keep their describe/it: busted gives those
-- to the spec file only.)
function P.run(cs, TOL, call)
  run(cs, "float64", TOL, call)
  run(cs, "float32", TOL, call)
end

return P
