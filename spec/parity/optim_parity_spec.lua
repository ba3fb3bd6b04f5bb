-- cnn.optim against torch.optim: parameter values after each of 3 steps on the quadratic loss of
-- spec/parity/gen_optim.py (fixtures/optim_*.lua), in float64 (to 1e-12) and float32 (to 1e-6).
local cnn = require "cnn"
local H = require "helpers"

local dir = "spec/parity/fixtures/"
local names = {}
for f in io.popen("ls " .. dir):lines() do
  local n = f:match("^optim_(.+)%.lua$")
  if n then names[#names + 1] = n end
end
table.sort(names)

local function replay(fx, dtype)
  local o = { dtype = dtype }
  local ps = { cnn.tensor(fx.p0[1], o):requires_grad(true), cnn.tensor(fx.p0[2], o):requires_grad(true) }
  local cs = { cnn.tensor(fx.c[1], o), cnn.tensor(fx.c[2], o) }
  local ds = { cnn.tensor(fx.d[1], o), cnn.tensor(fx.d[2], o) }
  local g2 = { params = { ps[2] } }
  for k, v in pairs(fx.group2) do g2[k] = v end
  local opt = cnn.optim[fx.optim]({ { params = { ps[1] } }, g2 }, fx.options)
  local worst = 0
  for step = 1, 3 do
    opt:zero_grad()
    local loss = (cs[1] * ps[1] * ps[1] + ds[1] * ps[1]):sum() + (cs[2] * ps[2] * ps[2] + ds[2] * ps[2]):sum()
    loss:backward()
    opt:step()
    for i = 1, 2 do worst = math.max(worst, H.maxdiff(ps[i]:flatten(), fx[dtype][step][i])) end
  end
  return worst
end

describe("optimizer parity with PyTorch", function()
  assert.is_true(#names >= 12, "fixtures missing: run /usr/bin/python3 spec/parity/gen_optim.py")
  for _, n in ipairs(names) do
    it(n, function()
      local fx = dofile(dir .. "optim_" .. n .. ".lua")
      local d64, d32 = replay(fx, "float64"), replay(fx, "float32")
      if os.getenv("PARITY_VERBOSE") then print(n, d64, d32) end
      assert.is_true(d64 <= 1e-12, ("float64 differs by %g"):format(d64))
      assert.is_true(d32 <= 1e-6, ("float32 differs by %g"):format(d32))
    end)
  end
end)
