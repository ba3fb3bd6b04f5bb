-- cnn.optim.Adam and AdamW(params, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0
-- (AdamW: 1e-2, decoupled), amsgrad = false, maximize = false}), as torch.optim. Spec: spec/optim_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local Optimizer = require "cnn.optim.optimizer"

local function check(fn, i, g)
  if type(g.betas) ~= "table" or cnn.is_tensor(g.betas) or rawlen(g.betas) ~= 2 then A.fail(fn, i, "betas", "a pair {beta1, beta2}", g.betas) end
  A.num(fn, i, "betas[1]", rawget(g.betas, 1), nil, 0, 0.999999999)
  A.num(fn, i, "betas[2]", rawget(g.betas, 2), nil, 0, 0.999999999)
  A.num(fn, i, "eps", g.eps, nil, 0)
  A.num(fn, i, "weight_decay", g.weight_decay, nil, 0)
  A.bool(fn, i, "amsgrad", g.amsgrad)
end

local function init_state(s, p, g)
  local o = { dtype = p:dtype() }
  s.exp_avg, s.exp_avg_sq = cnn.zeros(p:size(), o), cnn.zeros(p:size(), o)
  if g.amsgrad then s.max_exp_avg_sq = cnn.zeros(p:size(), o) end
end

local SLOTS = { "exp_avg", "exp_avg_sq", "max_exp_avg_sq" }
local function defaults(wd)
  return { lr = 1e-3, betas = { 0.9, 0.999 }, eps = 1e-8, weight_decay = wd, amsgrad = false, maximize = false }
end

local Adam = Optimizer.extend("Adam", "adam", defaults(0), SLOTS, check)
Adam.init_state = init_state
local AdamW = Optimizer.extend("AdamW", "adamw", defaults(1e-2), SLOTS, check)
AdamW.init_state = init_state

return { Adam = Adam, AdamW = AdamW }
