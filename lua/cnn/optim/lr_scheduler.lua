-- Learning-rate schedulers (torch.optim.lr_scheduler): StepLR, MultiStepLR, ExponentialLR,
-- CosineAnnealingLR (closed forms of the epoch count) and ReduceLROnPlateau (driven by a metric).
-- sched:step() once per epoch, after opt:step(). Spec: spec/optim_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local class = require "cnn._class"

local S = {}

local function optimizer_arg(fn, opt)
  if type(opt) ~= "table" or type(rawget(opt, "param_groups")) ~= "table" then A.fail(fn, 1, "optimizer", "an optimizer", opt) end
  local groups = rawget(opt, "param_groups")
  for i = 1, rawlen(groups) do
    local g = rawget(groups, i)
    if type(g) ~= "table" or type(rawget(g, "lr")) ~= "number" then
      A.fail(fn, 1, "optimizer", ("an optimizer (its param_groups[%d] has no lr)"):format(i), opt)
    end
  end
  return opt
end

-- a scheduler class whose lr for group g at epoch e is factor(self, base_lr, e)
local function scheduler(name, setup, lr_at)
  local cls = class(name)
  function cls._new(c, opt, ...)
    local fn = "cnn.optim.lr_scheduler." .. name
    local self = setmetatable({ optimizer = optimizer_arg(fn, opt), last_epoch = 0, fn = fn }, c)
    setup(self, fn, ...)
    self.base_lrs = {}
    for i, g in ipairs(opt.param_groups) do
      if g.initial_lr == nil then g.initial_lr = g.lr end
      self.base_lrs[i] = g.initial_lr
    end
    self:step(0)
    return self
  end
  -- step([epoch]): advances one epoch (or jumps to epoch) and sets every group's lr
  function cls:step(epoch)
    epoch = A.int(self.fn .. ".step", 1, "epoch", epoch, 0, self.last_epoch + 1)
    self.last_epoch = epoch
    self.last_lr = {}
    for i, g in ipairs(self.optimizer.param_groups) do
      g.lr = lr_at(self, self.base_lrs[i], self.last_epoch)
      self.last_lr[i] = g.lr
    end
  end
  function cls:get_last_lr() return self.last_lr end
  function cls:state_dict() return { last_epoch = self.last_epoch, base_lrs = self.base_lrs } end
  -- restores last_epoch and base_lrs (one per parameter group) and sets the lrs for that epoch
  function cls:load_state_dict(sd)
    local fn = self.fn .. ".load_state_dict"
    if type(sd) ~= "table" or cnn.is_tensor(sd) then A.fail(fn, 1, "state_dict", "a table {last_epoch =, base_lrs =}", sd) end
    local epoch = A.int(fn, 1, "last_epoch", rawget(sd, "last_epoch"), 0)
    local lrs = rawget(sd, "base_lrs")
    local n = #self.optimizer.param_groups
    if type(lrs) ~= "table" or cnn.is_tensor(lrs) or rawlen(lrs) ~= n then
      A.fail(fn, 1, "base_lrs", ("a list of %d learning rates (one per parameter group)"):format(n), lrs)
    end
    local base = {}
    for i = 1, n do base[i] = A.finite(fn, 1, ("base_lrs[%d]"):format(i), rawget(lrs, i), nil, 0) end
    self.base_lrs = base
    self:step(epoch)
  end
  S[name] = cls
end

-- StepLR(opt, step_size [, gamma = 0.1]): lr * gamma^floor(epoch / step_size)
scheduler("StepLR", function(self, fn, step_size, gamma)
  self.step_size = A.int(fn, 2, "step_size", step_size, 1)
  self.gamma = A.finite(fn, 3, "gamma", gamma, 0.1, 0)
end, function(self, base, e) return base * self.gamma ^ (e // self.step_size) end)

-- MultiStepLR(opt, milestones [, gamma = 0.1]): times gamma at each milestone passed
scheduler("MultiStepLR", function(self, fn, milestones, gamma)
  if type(milestones) ~= "table" or cnn.is_tensor(milestones) then A.fail(fn, 2, "milestones", "a list of epochs", milestones) end
  local list = {}
  for i = 1, rawlen(milestones) do list[i] = A.int(fn, 2, "milestones[" .. i .. "]", rawget(milestones, i), 1) end
  self.milestones = list
  self.gamma = A.finite(fn, 3, "gamma", gamma, 0.1, 0)
end, function(self, base, e)
  local k = 0
  for _, m in ipairs(self.milestones) do if e >= m then k = k + 1 end end
  return base * self.gamma ^ k
end)

-- ExponentialLR(opt, gamma): lr * gamma^epoch
scheduler("ExponentialLR", function(self, fn, gamma)
  self.gamma = A.finite(fn, 2, "gamma", gamma, nil, 0)
end, function(self, base, e) return base * self.gamma ^ e end)

-- CosineAnnealingLR(opt, T_max [, eta_min = 0]): eta_min + (lr - eta_min)(1 + cos(pi e / T_max)) / 2
scheduler("CosineAnnealingLR", function(self, fn, T_max, eta_min)
  self.T_max = A.int(fn, 2, "T_max", T_max, 1)
  self.eta_min = A.finite(fn, 3, "eta_min", eta_min, 0, 0)
end, function(self, base, e)
  return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * e / self.T_max)) / 2
end)

-- ReduceLROnPlateau(opt [, {mode = "min", factor = 0.1, patience = 10, threshold = 1e-4,
-- threshold_mode = "rel", cooldown = 0, min_lr = 0, eps = 1e-8}]): sched:step(metric)
local Plateau = class("ReduceLROnPlateau")
function Plateau._new(c, opt, opts)
  local fn = "cnn.optim.lr_scheduler.ReduceLROnPlateau"
  opts = A.opts(fn, 2, opts, { mode = true, factor = true, patience = true, threshold = true,
                               threshold_mode = true, cooldown = true, min_lr = true, eps = true })
  local self = setmetatable({ optimizer = optimizer_arg(fn, opt) }, c)
  self.mode = opts.mode or "min"
  if self.mode ~= "min" and self.mode ~= "max" then A.fail(fn, 2, "mode", '"min" or "max"', self.mode) end
  self.threshold_mode = opts.threshold_mode or "rel"
  if self.threshold_mode ~= "rel" and self.threshold_mode ~= "abs" then
    A.fail(fn, 2, "threshold_mode", '"rel" or "abs"', self.threshold_mode)
  end
  self.factor = A.num(fn, 2, "factor", opts.factor, 0.1, 0, 0.999999)
  self.patience = A.int(fn, 2, "patience", opts.patience, 0, 10)
  self.threshold = A.finite(fn, 2, "threshold", opts.threshold, 1e-4, 0)
  self.cooldown = A.int(fn, 2, "cooldown", opts.cooldown, 0, 0)
  self.min_lr = A.finite(fn, 2, "min_lr", opts.min_lr, 0, 0)
  self.eps = A.finite(fn, 2, "eps", opts.eps, 1e-8, 0)
  self.best = self.mode == "min" and math.huge or -math.huge
  self.num_bad_epochs, self.cooldown_counter, self.last_epoch = 0, 0, 0
  return self
end

function Plateau:is_better(a)
  a = A.num("cnn.optim.lr_scheduler.ReduceLROnPlateau.is_better", 1, "metric", a)
  local t = self.threshold
  if self.mode == "min" then
    return self.threshold_mode == "rel" and a < self.best * (1 - t) or (self.threshold_mode == "abs" and a < self.best - t)
  end
  return self.threshold_mode == "rel" and a > self.best * (1 + t) or (self.threshold_mode == "abs" and a > self.best + t)
end

function Plateau:step(metric)
  metric = A.num("cnn.optim.lr_scheduler.ReduceLROnPlateau.step", 1, "metric", metric)
  self.last_epoch = self.last_epoch + 1
  if self:is_better(metric) then self.best, self.num_bad_epochs = metric, 0
  else self.num_bad_epochs = self.num_bad_epochs + 1 end
  if self.cooldown_counter > 0 then
    self.cooldown_counter, self.num_bad_epochs = self.cooldown_counter - 1, 0
  end
  if self.num_bad_epochs > self.patience then
    for _, g in ipairs(self.optimizer.param_groups) do
      local new = math.max(g.lr * self.factor, self.min_lr)
      if g.lr - new > self.eps then g.lr = new end
    end
    self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
  end
end
function Plateau:get_last_lr()
  local out = {}
  for i, g in ipairs(self.optimizer.param_groups) do out[i] = g.lr end
  return out
end

-- the options and the counters (as torch's state_dict: everything but the optimizer), and
-- last_lr, the groups' lrs; plain numbers and strings, so it fits a checkpoint
local PLATEAU_KEYS = { "mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps",
                       "best", "num_bad_epochs", "cooldown_counter", "last_epoch" }
function Plateau:state_dict()
  local sd = { last_lr = self:get_last_lr() }
  for _, k in ipairs(PLATEAU_KEYS) do sd[k] = self[k] end
  return sd
end

-- restores the options, the counters and every group's lr (last_lr); checks them all first
function Plateau:load_state_dict(sd)
  local fn = "cnn.optim.lr_scheduler.ReduceLROnPlateau.load_state_dict"
  if type(sd) ~= "table" or cnn.is_tensor(sd) then A.fail(fn, 1, "state_dict", "a table (from sched:state_dict())", sd) end
  local known = { last_lr = true }
  for _, k in ipairs(PLATEAU_KEYS) do known[k] = true end
  for k in next, sd do
    if not known[k] then A.error(("%s: argument 1 (state_dict): unknown key '%s'"):format(fn, tostring(k))) end
  end
  local v = {}
  for _, k in ipairs(PLATEAU_KEYS) do
    v[k] = rawget(sd, k)
    if v[k] == nil then A.error(("%s: argument 1 (state_dict): missing key '%s'"):format(fn, k)) end
  end
  if v.mode ~= "min" and v.mode ~= "max" then A.fail(fn, 1, "mode", '"min" or "max"', v.mode) end
  if v.threshold_mode ~= "rel" and v.threshold_mode ~= "abs" then A.fail(fn, 1, "threshold_mode", '"rel" or "abs"', v.threshold_mode) end
  A.num(fn, 1, "factor", v.factor, nil, 0, 0.999999)
  A.finite(fn, 1, "threshold", v.threshold, nil, 0)
  A.finite(fn, 1, "min_lr", v.min_lr, nil, 0)
  A.finite(fn, 1, "eps", v.eps, nil, 0)
  A.num(fn, 1, "best", v.best)
  for _, k in ipairs{ "patience", "cooldown", "num_bad_epochs", "cooldown_counter", "last_epoch" } do v[k] = A.int(fn, 1, k, v[k], 0) end
  local groups = self.optimizer.param_groups
  local lrs = rawget(sd, "last_lr")
  if lrs ~= nil then
    if type(lrs) ~= "table" or cnn.is_tensor(lrs) or rawlen(lrs) ~= #groups then
      A.fail(fn, 1, "last_lr", ("a list of %d learning rates (one per parameter group)"):format(#groups), lrs)
    end
    for i = 1, #groups do A.finite(fn, 1, ("last_lr[%d]"):format(i), rawget(lrs, i), nil, 0) end
  end
  for _, k in ipairs(PLATEAU_KEYS) do self[k] = v[k] end
  if lrs ~= nil then for i, g in ipairs(groups) do g.lr = rawget(lrs, i) end end
end
S.ReduceLROnPlateau = Plateau

return S
