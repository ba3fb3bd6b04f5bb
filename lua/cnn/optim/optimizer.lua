-- cnn.optim.Optimizer: the base of the optimizers. It keeps parameter groups (each a table
-- {params = {...}, lr = ..., ...} with the defaults filled in) and per-parameter state tensors,
-- and makes one C call (cnn._optim.step) per group and step. Spec: spec/optim_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local Module = require "cnn.nn.module"
local class = require "cnn._class"

local Optimizer = class("Optimizer")

-- a subclass: kind (the C update), defaults {name = value}, slots (state tensor names in C order),
-- check(fn, argn, group) validates a group's options (argument argn of fn)
function Optimizer.extend(name, kind, defaults, slots, check)
  local fn = "cnn.optim.Optimizer.extend"
  A.str(fn, 1, "name", name)
  A.str(fn, 2, "kind", kind)
  A.table(fn, 3, "defaults", defaults, "a table of option defaults")
  A.table(fn, 4, "slots", slots, "a list of state names")
  A.func(fn, 5, "check", check)
  local cls = class(name, Optimizer)
  cls.kind, cls.defaults, cls.slots, cls.check = kind, defaults, slots, check
  return cls
end

-- the tensors of a group's `params`: a module's parameters, one tensor, or a list of tensors
local function param_list(fn, argn, params)
  if Module.is_module(params) then return params:parameters() end
  if cnn.is_tensor(params) then return { A.tensor(fn, argn, "params", params) } end
  if type(params) ~= "table" then A.fail(fn, argn, "params", "a list of tensors, of groups, or a module", params) end
  local list = {}
  for i = 1, rawlen(params) do list[i] = A.tensor(fn, argn, ("params[%d]"):format(i), rawget(params, i)) end
  return list
end

-- adds group {params = ..., option = value, ...} (argument argn of fn); missing options take
-- the defaults; the options are checked against the optimizer's
local function add_group(self, fn, argn, group)
  local cls = getmetatable(self)
  if type(group) ~= "table" or cnn.is_tensor(group) or Module.is_module(group) or rawget(group, "params") == nil then
    A.fail(fn, argn, "group", "a table {params = ...}", group)
  end
  local g = {}
  for k, v in pairs(group) do
    if k ~= "params" and (type(k) ~= "string" or cls.defaults[k] == nil) then
      A.error(("%s: argument %d (group): unknown option '%s'"):format(fn, argn, tostring(k)))
    end
    g[k] = v
  end
  g.params = {}
  for k, v in pairs(self.options) do if g[k] == nil then g[k] = v end end
  for i, p in ipairs(param_list(fn, argn, rawget(group, "params"))) do
    for _, other in ipairs(self.param_groups) do
      for _, q in ipairs(other.params) do
        if q == p then A.error(fn .. ": a parameter appears in more than one group") end
      end
    end
    for j = 1, i - 1 do
      if g.params[j] == p then A.error(fn .. ": a parameter appears twice in one group") end
    end
    g.params[i] = p
  end
  A.finite(fn, argn, "lr", g.lr, nil, 0)
  A.bool(fn, argn, "maximize", g.maximize)
  cls.check(fn, argn, g)
  self.param_groups[#self.param_groups + 1] = g
end

-- params: a module, a tensor, a list of tensors or a list of groups {params = ..., option = ...}
function Optimizer.new(cls, params, opts)
  if type(cls) ~= "table" or rawget(cls, "kind") == nil then
    A.error("cnn.optim.Optimizer.new: argument 1 (class): expected an optimizer class (made by Optimizer.extend), got " .. A.describe(cls))
  end
  local fn = "cnn.optim." .. cls.__name
  local self = setmetatable({ param_groups = {}, state = {} }, cls)
  opts = A.opts(fn, 2, opts, cls.defaults)
  self.options = {}
  for k, v in pairs(cls.defaults) do self.options[k] = v end
  for k, v in pairs(opts) do self.options[k] = v end
  A.finite(fn, 2, "lr", self.options.lr, nil, 0)           -- the defaults every group inherits
  A.bool(fn, 2, "maximize", self.options.maximize)
  cls.check(fn, 2, self.options)
  local groups
  if Module.is_module(params) or cnn.is_tensor(params) then groups = { { params = params } }
  elseif type(params) ~= "table" then A.fail(fn, 1, "params", "a list of tensors, of groups, or a module", params)
  elseif cnn.is_tensor(rawget(params, 1)) or rawlen(params) == 0 then groups = { { params = params } }
  else groups = table.move(params, 1, rawlen(params), 1, {}) end
  for _, g in ipairs(groups) do add_group(self, fn, 1, g) end
  local n = 0
  for _, g in ipairs(self.param_groups) do n = n + #g.params end
  if n == 0 then A.error(fn .. ": argument 1 (params): got an empty parameter list") end
  return self
end
Optimizer._new = Optimizer.new

-- group: {params = list or module, option = value, ...}; missing options take the defaults
function Optimizer:add_param_group(group)
  add_group(self, "cnn.optim." .. getmetatable(self).__name .. ".add_param_group", 1, group)
end

-- set_to_none (default true) drops the gradients; false zeroes them
function Optimizer:zero_grad(set_to_none)
  set_to_none = A.bool("cnn.optim." .. getmetatable(self).__name .. ".zero_grad", 1, "set_to_none", set_to_none, true)
  for _, g in ipairs(self.param_groups) do
    for _, p in ipairs(g.params) do
      if set_to_none then p.grad = nil else p:zero_grad() end
    end
  end
end

-- the flat hyperparameter table the C update reads
local function hyper(g)
  local h = {}
  for k, v in pairs(g) do if k ~= "params" and k ~= "betas" then h[k] = v end end
  if g.betas then h.beta1, h.beta2 = g.betas[1], g.betas[2] end
  return h
end

-- one update of every parameter that has a gradient; closure (optional) recomputes the loss
function Optimizer:step(closure)
  local cls = getmetatable(self)
  local fn = "cnn.optim." .. cls.__name .. ".step"
  local loss
  if A.func(fn, 1, "closure", closure, true) then loss = closure() end
  for _, g in ipairs(self.param_groups) do
    local ps, states, steps = {}, {}, {}
    for _, p in ipairs(g.params) do
      if A.tensor(fn, 1, "parameter", p).grad then
        local s = self.state[p]
        if not s then s = { step = 0 }; self.state[p] = s; cls.init_state(s, p, g) end
        s.step = s.step + 1
        local list = {}
        for j, name in ipairs(cls.slots) do list[j] = s[name] or false end
        ps[#ps + 1], states[#states + 1], steps[#steps + 1] = p, list, s.step
      end
    end
    if #ps > 0 then A.call(cnn._optim.step, cls.kind, ps, states, steps, hyper(g), "optim." .. cls.__name .. ":step") end
  end
  return loss
end

-- zero state tensors for the slots the group's options use (override for other start values)
function Optimizer.init_state(s, p, g)
  A.error("cnn.optim: init_state is not defined")
end

-- {state = {[i] = {step = n, <slot> = tensor}}, param_groups = {{params = {i, ...}, <option> = ...}}},
-- parameters numbered 1, 2, ... across the groups in order
function Optimizer:state_dict()
  local sd, n = { state = {}, param_groups = {} }, 0
  for gi, g in ipairs(self.param_groups) do
    local pg = { params = {} }
    for k, v in pairs(g) do if k ~= "params" then pg[k] = v end end
    for _, p in ipairs(g.params) do
      n = n + 1
      pg.params[#pg.params + 1] = n
      local s = self.state[p]
      if s then
        local e = {}
        for k, v in pairs(s) do e[k] = v end
        sd.state[n] = e
      end
    end
    sd.param_groups[gi] = pg
  end
  return sd
end

-- restores options and copies of the state tensors; the groups must match in number and size
function Optimizer:load_state_dict(sd)
  local fn = "cnn.optim." .. getmetatable(self).__name .. ".load_state_dict"
  local cls = getmetatable(self)
  if type(sd) ~= "table" or cnn.is_tensor(sd) or type(rawget(sd, "param_groups")) ~= "table" or type(rawget(sd, "state")) ~= "table" then
    A.fail(fn, 1, "state_dict", "a table {state =, param_groups =}", sd)
  end
  local groups, sdstate = rawget(sd, "param_groups"), rawget(sd, "state")
  if rawlen(groups) ~= #self.param_groups then
    A.error(("%s: the state dict has %d parameter groups, the optimizer %d"):format(fn, rawlen(groups), #self.param_groups))
  end
  -- check everything first, so that a bad state dict changes nothing
  for gi, g in ipairs(self.param_groups) do
    local pg = rawget(groups, gi)
    if type(pg) ~= "table" or type(rawget(pg, "params")) ~= "table" then
      A.fail(fn, 1, ("param_groups[%d]"):format(gi), "a table {params = {...}, <option> = ...}", pg)
    end
    if rawlen(pg.params) ~= #g.params then
      A.error(("%s: group %d has %d parameters in the state dict, %d in the optimizer"):format(fn, gi, rawlen(pg.params), #g.params))
    end
    local check = {}
    for k, v in pairs(pg) do
      if k ~= "params" and (type(k) ~= "string" or cls.defaults[k] == nil) and k ~= "initial_lr" then
        A.error(("%s: argument 1 (param_groups[%d]): unknown option '%s'"):format(fn, gi, tostring(k)))
      end
      check[k] = v
    end
    for k, v in pairs(g) do if check[k] == nil then check[k] = v end end
    A.finite(fn, 1, "lr", check.lr, nil, 0)
    cls.check(fn, 1, check)
    for i = 1, #g.params do
      local e = rawget(sdstate, rawget(pg.params, i)) or rawget(sdstate, tostring(rawget(pg.params, i)))
      if e ~= nil then
        if type(e) ~= "table" or cnn.is_tensor(e) then A.fail(fn, 1, ("state[%s]"):format(tostring(rawget(pg.params, i))), "a table of state tensors", e) end
        if e.step ~= nil then A.int(fn, 1, "step", e.step, 0) end
        local p = g.params[i]
        for k, v in pairs(e) do
          if k ~= "step" and (not cnn.is_tensor(v) or not pcall(v.dtype, v)) then
            A.fail(fn, 1, ("state[%s].%s"):format(tostring(rawget(pg.params, i)), tostring(k)), "a tensor", v)
          end
          if k ~= "step" and table.concat(v:size(), ",") ~= table.concat(p:size(), ",") then
            A.error(("%s: state %s of parameter %s has shape [%s], the parameter [%s]"):format(
              fn, tostring(k), tostring(rawget(pg.params, i)), table.concat(v:size(), ","), table.concat(p:size(), ",")))
          end
        end
      end
    end
  end
  local state = {}
  for gi, g in ipairs(self.param_groups) do
    local pg = rawget(groups, gi)
    for k, v in pairs(pg) do if k ~= "params" then g[k] = v end end
    for i, p in ipairs(g.params) do
      local e = rawget(sdstate, rawget(pg.params, i)) or rawget(sdstate, tostring(rawget(pg.params, i)))
      if e then
        local s = {}
        for k, v in pairs(e) do
          if cnn.is_tensor(v) then
            v = A.call_as(fn, function() return v:detach():to(p:dtype()):clone() end)
          end
          s[k] = v
        end
        s.step = math.tointeger(s.step) or 0
        state[p] = s
      end
    end
  end
  self.state = state
end

return Optimizer
