-- Checks conv2d, conv1d and the pools against PyTorch's values and gradients, stored by
-- spec/parity/gen_conv.py in spec/parity/fixtures/conv.lua: float64 to rtol 1e-10, float32 to 1e-4.
local cnn = require "cnn"
local F = cnn.F

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local cases = dofile(dir .. "fixtures/conv.lua")

local function tensor(t, dtype, grad)
  return cnn.tensor(t.data, {dtype = dtype, requires_grad = grad}):view(t.shape)
end

-- every element within rtol of the reference, relative to max(|ref|, 1)
local function check(got, ref, rtol, what)
  assert.same(ref.shape, got:size(), what .. ": shape")
  local g = got:double():contiguous():view(-1)
  for i, r in ipairs(ref.data) do
    local d = math.abs(g[i] - r)
    if d > rtol * math.max(math.abs(r), 1) then
      error(("%s: element %d is %.17g, PyTorch %.17g (rtol %g)"):format(what, i, g[i], r, rtol), 2)
    end
  end
end

local function run(c, xs)
  local a = c.args
  if c.op == "conv2d" or c.op == "conv1d" then return F[c.op](xs[1], xs[2], xs[3], a) end
  if c.op:match("^adaptive_") then return F[c.op](xs[1], a.k) end
  return F[c.op](xs[1], a.k, a.options)
end

describe("PyTorch parity of conv and pooling", function()
  for _, c in ipairs(cases) do
    for _, dt in ipairs({"float64", "float32"}) do
      it(c.name .. " " .. dt, function()
        local rtol = dt == "float64" and 1e-10 or 1e-4
        local xs = {}
        for i, t in ipairs(c.inputs) do xs[i] = tensor(t, dt, true) end
        local y = run(c, xs)
        assert.equal(dt, y:dtype())
        check(y, c.out, rtol, "output")
        local g = cnn.grad(y, xs, {tensor(c.gout, dt, false)})
        for i = 1, #xs do check(g[i], c.grads[i], rtol, "gradient of input " .. i) end
      end)
    end
  end
end)
