-- Activation modules, one per activation of cnn.F: ReLU, LeakyReLU, RReLU, PReLU (learnable
-- weight), ELU, SELU, GELU, SiLU, Mish, Sigmoid, Tanh, Hardtanh, Softsign, Softplus, Softmax,
-- LogSoftmax.
-- Each stores its options and calls F in forward. Spec: spec/layers_spec.lua.
local cnn = require "cnn"
local F = require "cnn.nn.functional"
local A = require "cnn.nn.argcheck"
local Module = require "cnn.nn.module"

local M = {}

-- a class whose forward is F[op](x, self[field1], self[field2], ...); checks give defaults
local function act(name, op, fields)
  local cls = Module:extend("nn." .. name)
  fields = fields or {}
  function cls:__init(...)
    local args = { ... }
    for i, f in ipairs(fields) do self[f[1]] = A.num("cnn.nn." .. name, i, f[1], args[i], f[2], f[3]) end
  end
  function cls:forward(x)
    local args = {}
    for i, f in ipairs(fields) do args[i] = self[f[1]] end
    return A.call(F[op], x, table.unpack(args, 1, #fields))
  end
  function cls:extra_repr()
    local parts = {}
    for _, f in ipairs(fields) do parts[#parts + 1] = f[1] .. " = " .. self[f[1]] end
    return #parts > 0 and table.concat(parts, ", ") or nil
  end
  M[name] = cls
  return cls
end

act("ReLU", "relu")
act("Sigmoid", "sigmoid")
act("Tanh", "tanh")
act("SELU", "selu")
act("Softsign", "softsign")
act("SiLU", "silu")
act("Mish", "mish")
act("LeakyReLU", "leaky_relu", { { "negative_slope", 0.01 } })
act("ELU", "elu", { { "alpha", 1.0 } })
act("Hardtanh", "hardtanh", { { "min_val", -1 }, { "max_val", 1 } })
act("Softplus", "softplus", { { "beta", 1 }, { "threshold", 20 } })

-- GELU([approximate = "none"]): x Phi(x), or its tanh approximation with approximate = "tanh"
local GELU = Module:extend("nn.GELU")
function GELU:__init(approximate)
  approximate = A.str("cnn.nn.GELU", 1, "approximate", approximate, "none")
  if approximate ~= "none" and approximate ~= "tanh" then
    A.fail("cnn.nn.GELU", 1, "approximate", '"none" or "tanh"', approximate)
  end
  self.approximate = approximate
end
function GELU:forward(x) return A.call(F.gelu, x, self.approximate) end
function GELU:extra_repr() return ("approximate = %q"):format(self.approximate) end
M.GELU = GELU

-- RReLU([lower = 1/8 [, upper = 1/3]]): random slopes in training, their mean in eval mode
local RReLU = act("RReLU", "rrelu", { { "lower", 1 / 8, 0 }, { "upper", 1 / 3, 0 } })
function RReLU:forward(x) return A.call(F.rrelu, x, self.lower, self.upper, self.training) end

-- PReLU([num_parameters = 1 [, init = 0.25]]): learnable negative slope, one or one per channel
local PReLU = Module:extend("nn.PReLU")
function PReLU:__init(n, v)
  n = A.int("cnn.nn.PReLU", 1, "num_parameters", n, 1, 1)
  v = A.num("cnn.nn.PReLU", 2, "init", v, 0.25)
  self.weight = A.call(cnn.full, { n }, v, { requires_grad = true })
end
function PReLU:forward(x) return A.call(F.prelu, x, self.weight) end
M.PReLU = PReLU

-- Softmax(dim) and LogSoftmax(dim)
for name, op in pairs({ Softmax = "softmax", LogSoftmax = "log_softmax" }) do
  local cls = Module:extend("nn." .. name)
  function cls:__init(dim) self.dim = A.int("cnn.nn." .. name, 1, "dim", dim) end
  function cls:forward(x) return A.call(F[op], x, self.dim) end
  function cls:extra_repr() return "dim = " .. self.dim end
  M[name] = cls
end

return M
