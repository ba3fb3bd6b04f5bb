-- cnn.gradcheck(fn, inputs [, opts]): compares the gradients autograd computes for fn(inputs...)
-- with central differences in float64. The output is reduced to a scalar with fixed random
-- weights, so every output element counts. Returns ok (every element within atol + rtol * |num|),
-- the worst relative error |num - ana| / max(|num|, |ana|, atol / rtol) over all elements (so a
-- passing check shows how close it came), and a report naming the worst failing element.
-- opts: eps (1e-6), atol (1e-5), rtol (1e-3), seed (fixed weights).
local cnn = require "cnn.core"

local function check_args(fn, inputs)
  if type(fn) ~= "function" then
    error("cnn.gradcheck: argument 1 (fn): expected a function, got " .. type(fn), 3)
  end
  if type(inputs) ~= "table" or cnn.is_tensor(inputs) or #inputs == 0 then
    error("cnn.gradcheck: argument 2 (inputs): expected a non-empty table of tensors", 3)
  end
  for i, x in ipairs(inputs) do
    if not cnn.is_tensor(x) then
      error(("cnn.gradcheck: argument 2 (inputs): element %d is a %s, not a tensor"):format(i, type(x)), 3)
    end
    if x:dtype() ~= "float64" then
      error(("cnn.gradcheck: argument 2 (inputs): element %d is %s; gradcheck needs float64"):format(i, x:dtype()), 3)
    end
  end
end

return function(fn, inputs, opts)
  check_args(fn, inputs)
  opts = opts or {}
  local eps, atol, rtol = opts.eps or 1e-6, opts.atol or 1e-5, opts.rtol or 1e-3
  local state = cnn.get_rng_state()
  cnn.manual_seed(opts.seed or 1234)
  local out = fn(table.unpack(inputs))
  local w = cnn.rand(out:size(), "float64") + 0.5
  cnn.set_rng_state(state)
  local function scalar(...)
    return (fn(...) * w):sum()
  end
  local diff = {}
  for i, x in ipairs(inputs) do
    if x:requires_grad() then diff[#diff + 1] = i end
  end
  if #diff == 0 then
    error("cnn.gradcheck: argument 2 (inputs): expected at least one tensor with requires_grad, got none", 2)
  end
  local wanted = {}
  for k, i in ipairs(diff) do wanted[k] = inputs[i] end
  local analytic = cnn.grad(scalar(table.unpack(inputs)), wanted)
  local worst, report = 0, "ok"
  cnn.no_grad(function()
    for k, i in ipairs(diff) do
      local flat = inputs[i]:detach():view(-1)   -- shares storage: perturb in place
      local ga = analytic[k]:contiguous():view(-1)
      for e = 1, flat:numel() do
        local v = flat[e]
        flat[e] = v + eps
        local fp = scalar(table.unpack(inputs)):item()
        flat[e] = v - eps
        local fm = scalar(table.unpack(inputs)):item()
        flat[e] = v
        local num, ana = (fp - fm) / (2 * eps), ga[e]
        local err = math.abs(num - ana)
        local rel = err / math.max(math.abs(num), math.abs(ana), atol / rtol)   -- floored: 0 vs 1e-9 is fine
        if err > atol + rtol * math.abs(num) and (rel > worst or report == "ok") then
          report = ("input %d, element %d: numerical %.10g, analytic %.10g (relative error %.3g)"):format(i, e, num, ana, rel)
        end
        if rel > worst then worst = rel end
      end
    end
  end)
  return report == "ok", worst, report
end
