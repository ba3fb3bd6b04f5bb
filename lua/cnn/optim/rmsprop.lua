-- cnn.optim.RMSprop(params, {lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0,
-- centered = false, maximize = false}) and cnn.optim.Adagrad(params, {lr = 1e-2, lr_decay = 0,
-- weight_decay = 0, initial_accumulator_value = 0, eps = 1e-10, maximize = false}), as torch.optim.
-- Spec: spec/optim_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local Optimizer = require "cnn.optim.optimizer"

local RMSprop = Optimizer.extend("RMSprop", "rmsprop",
  { lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0, centered = false, maximize = false },
  { "square_avg", "momentum_buffer", "grad_avg" },
  function(fn, i, g)
    A.num(fn, i, "alpha", g.alpha, nil, 0)
    A.num(fn, i, "eps", g.eps, nil, 0)
    A.num(fn, i, "momentum", g.momentum, nil, 0)
    A.num(fn, i, "weight_decay", g.weight_decay, nil, 0)
  end)
function RMSprop.init_state(s, p, g)
  local o = { dtype = p:dtype() }
  s.square_avg = cnn.zeros(p:size(), o)
  if g.momentum > 0 then s.momentum_buffer = cnn.zeros(p:size(), o) end
  if g.centered then s.grad_avg = cnn.zeros(p:size(), o) end
end

local Adagrad = Optimizer.extend("Adagrad", "adagrad",
  { lr = 1e-2, lr_decay = 0, weight_decay = 0, initial_accumulator_value = 0, eps = 1e-10, maximize = false },
  { "sum" },
  function(fn, i, g)
    A.num(fn, i, "lr_decay", g.lr_decay, nil, 0)
    A.num(fn, i, "eps", g.eps, nil, 0)
    A.num(fn, i, "weight_decay", g.weight_decay, nil, 0)
    A.num(fn, i, "initial_accumulator_value", g.initial_accumulator_value, nil, 0)
  end)
function Adagrad.init_state(s, p, g)
  s.sum = cnn.full(p:size(), g.initial_accumulator_value, { dtype = p:dtype() })
end

return { RMSprop = RMSprop, Adagrad = Adagrad }
