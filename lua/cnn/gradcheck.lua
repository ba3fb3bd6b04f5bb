-- cnn.gradcheck(fn, inputs [, opts]): compares the gradients autograd computes for fn(inputs...)
-- with central differences in float64. The output is reduced to a scalar with fixed random
-- weights, so every output element counts. Returns ok (every element within atol + rtol * |num|),
-- the worst relative error |num - ana| / max(|num|, |ana|, atol / rtol) over all elements (so a
-- passing check shows how close it came), and a report naming the worst failing element.
-- opts: eps (1e-6), atol (1e-5), rtol (1e-3), seed (fixed weights).
local cnn = require "cnn.core"
local A = require "cnn.nn.argcheck"

local function check_args(fn, inputs)
  if type(fn) ~= "function" then
    A.fail("cnn.gradcheck", 1, "fn", "a function", fn)
  end
  if type(inputs) ~= "table" or cnn.is_tensor(inputs) or rawlen(inputs) == 0 or rawlen(inputs) > 64 then
    A.fail("cnn.gradcheck", 2, "inputs", "a list of 1 to 64 tensors", inputs)
  end
  for i = 1, rawlen(inputs) do
    local x = rawget(inputs, i)
    if not cnn.is_tensor(x) then
      A.error(("cnn.gradcheck: argument 2 (inputs): element %d is a %s, not a tensor"):format(i, type(x)))
    end
    A.tensor("cnn.gradcheck", 2, ("inputs[%d]"):format(i), x)
    if x:dtype() ~= "float64" then
      A.error(("cnn.gradcheck: argument 2 (inputs): element %d is %s; gradcheck needs float64"):format(i, x:dtype()))
    end
  end
end

-- fn(...) as a tensor
local function output(fn, ...)
  local y = fn(...)
  if not cnn.is_tensor(y) then A.error("cnn.gradcheck: argument 1 (fn): returned " .. A.describe(y) .. ", expected a tensor") end
  return A.tensor("cnn.gradcheck", 1, "fn's result", y)
end

return function(fn, inputs, opts)
  check_args(fn, inputs)
  inputs = table.move(inputs, 1, rawlen(inputs), 1, {})
  opts = A.opts("cnn.gradcheck", 3, opts, { "eps", "atol", "rtol", "seed" })
  local eps = A.num("cnn.gradcheck", 3, "eps", opts.eps, 1e-6, 1e-300)
  local atol = A.num("cnn.gradcheck", 3, "atol", opts.atol, 1e-5, 0)
  local rtol = A.num("cnn.gradcheck", 3, "rtol", opts.rtol, 1e-3, 1e-300)
  local seed = A.int("cnn.gradcheck", 3, "seed", opts.seed, nil, 1234)
  local state = cnn.get_rng_state()
  cnn.manual_seed(seed)
  local out = output(fn, table.unpack(inputs))
  local w = cnn.rand(out:size(), "float64") + 0.5
  cnn.set_rng_state(state)
  local function scalar(...)
    local y = output(fn, ...)                     -- the user's code: its errors pass through unchanged
    return A.call_as("cnn.gradcheck", function() return (y * w):sum() end)
  end
  local diff = {}
  for i, x in ipairs(inputs) do
    if x:requires_grad() then diff[#diff + 1] = i end
  end
  if #diff == 0 then
    A.error("cnn.gradcheck: argument 2 (inputs): expected at least one tensor with requires_grad, got none")
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
