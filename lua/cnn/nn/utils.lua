-- cnn.nn.utils: clip_grad_norm_ and clip_grad_value_ (torch.nn.utils'), which take a module or
-- tensors. Spec: spec/optim_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"

local utils = {}

-- the tensors of `parameters` (argument 1): a module's parameters(), one tensor or a list of tensors
local function tensors(fn, params)
  if type(params) == "table" and rawget(params, "_reg") ~= nil then return params:parameters() end
  if cnn.is_tensor(params) then return { A.tensor(fn, 1, "parameters", params) } end
  if type(params) ~= "table" then A.fail(fn, 1, "parameters", "a module, a tensor or a list of tensors", params) end
  local list = {}
  for i = 1, rawlen(params) do list[i] = A.tensor(fn, 1, ("parameters[%d]"):format(i), rawget(params, i)) end
  return list
end

-- scales the gradients of params (a module, a tensor or a list of tensors) so that their joint
-- norm_type-norm (default 2, math.huge for the max) is at most max_norm; returns the norm before
function utils.clip_grad_norm_(params, max_norm, norm_type)
  local fn = "cnn.nn.utils.clip_grad_norm_"
  params = tensors(fn, params)
  max_norm = A.num(fn, 2, "max_norm", max_norm, nil, 0)
  norm_type = A.num(fn, 3, "norm_type", norm_type, 2, 1e-300)
  local total = 0
  A.call(cnn.no_grad, function()
    for _, p in ipairs(params) do
      local g = p.grad
      if g then
        if norm_type == math.huge then total = math.max(total, g:abs():max():item())
        else total = total + g:abs():pow(norm_type):sum():item() end
      end
    end
    if norm_type ~= math.huge then total = total ^ (1 / norm_type) end
    local coef = max_norm / (total + 1e-6)
    if coef < 1 then
      for _, p in ipairs(params) do local g = p.grad; if g then g:mul_(coef) end end
    end
  end)
  return total
end

-- clamps every gradient of params (a module, a tensor or a list of tensors) in place to
-- [-clip_value, clip_value]; parameters without a gradient are skipped
function utils.clip_grad_value_(params, clip_value)
  local fn = "cnn.nn.utils.clip_grad_value_"
  params = tensors(fn, params)
  clip_value = A.num(fn, 2, "clip_value", clip_value, nil, 0)
  A.call(cnn.no_grad, function()
    for _, p in ipairs(params) do
      local g = p.grad
      if g then g:clamp_(-clip_value, clip_value) end
    end
  end)
end

return utils
