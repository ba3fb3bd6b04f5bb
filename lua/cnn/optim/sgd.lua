-- cnn.optim.SGD(params, {lr =, momentum = 0, dampening = 0, nesterov = false, weight_decay = 0,
-- maximize = false}), as torch.optim.SGD. Spec: spec/optim_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local Optimizer = require "cnn.optim.optimizer"

local function check(fn, i, g)
  A.num(fn, i, "momentum", g.momentum, nil, 0)
  A.num(fn, i, "dampening", g.dampening)
  A.num(fn, i, "weight_decay", g.weight_decay, nil, 0)
  A.bool(fn, i, "nesterov", g.nesterov)
  if g.nesterov and (g.momentum <= 0 or g.dampening ~= 0) then
    A.error(fn .. ": argument " .. i .. " (options): nesterov momentum needs momentum > 0 and dampening = 0")
  end
end

local SGD = Optimizer.extend("SGD", "sgd", { lr = 1e-3, momentum = 0, dampening = 0, nesterov = false,
                                             weight_decay = 0, maximize = false }, { "momentum_buffer" }, check)

function SGD.init_state(s, p, g)
  if g.momentum ~= 0 then s.momentum_buffer = cnn.zeros(p:size(), { dtype = p:dtype() }) end
end

return SGD
