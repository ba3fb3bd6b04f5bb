-- BatchNorm1d and BatchNorm2d: batch statistics in training mode (updating running_mean and
-- running_var), running statistics in eval mode; weight (ones) and bias (zeros) when affine.
-- LayerNorm and GroupNorm: statistics of each sample (over the trailing dimensions, or over
-- groups of channels), the same in training and eval mode. Spec: spec/layers_spec.lua,
-- spec/norm_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local Module = require "cnn.nn.module"
local F = require "cnn.nn.functional"

local M = {}

local OPTS = { eps = true, momentum = true, affine = true, track_running_stats = true }

for _, name in ipairs({ "BatchNorm1d", "BatchNorm2d" }) do
  local cls = Module:extend("nn." .. name)
  local fn = "cnn.nn." .. name
  -- (num_features [, {eps = 1e-5, momentum = 0.1, affine = true, track_running_stats = true}])
  function cls:__init(n, opts)
    n = A.int(fn, 1, "num_features", n, 1)
    opts = A.opts(fn, 2, opts, OPTS)
    self.num_features = n
    self.eps = A.num(fn, 2, "eps", opts.eps, 1e-5, 0)
    self.momentum = A.num(fn, 2, "momentum", opts.momentum, 0.1, 0, 1)
    if A.bool(fn, 2, "affine", opts.affine, true) then
      self.weight = A.call(cnn.ones, { n }, { requires_grad = true })
      self.bias = A.call(cnn.zeros, { n }, { requires_grad = true })
    end
    if A.bool(fn, 2, "track_running_stats", opts.track_running_stats, true) then
      self:register_buffer("running_mean", A.call(cnn.zeros, { n }))
      self:register_buffer("running_var", A.call(cnn.ones, { n }))
    end
  end
  function cls:forward(x)
    local training = self.training or self.running_mean == nil
    return A.call(F.batch_norm, x, self.running_mean, self.running_var, self.weight, self.bias,
                        { training = training, momentum = self.momentum, eps = self.eps })
  end
  function cls:extra_repr() return ("%d, eps = %g, momentum = %g"):format(self.num_features, self.eps, self.momentum) end
  M[name] = cls
end

-- LayerNorm(normalized_shape [, {eps = 1e-5, elementwise_affine = true}]): normalized_shape is a
-- size or a table of sizes, the trailing dimensions of the input; weight (ones) and bias (zeros)
-- of that shape when elementwise_affine
local LayerNorm = Module:extend("nn.LayerNorm")
do
  local fn = "cnn.nn.LayerNorm"
  local LN_OPTS = { eps = true, elementwise_affine = true }
  function LayerNorm:__init(shape, opts)
    local s = {}
    if type(shape) == "table" and not cnn.is_tensor(shape) then
      local n = rawlen(shape)
      if n == 0 then A.fail(fn, 1, "normalized_shape", "a positive integer or a table of them", shape) end
      for i = 1, n do s[i] = A.int(fn, 1, "normalized_shape", rawget(shape, i), 1) end
    else
      s[1] = A.int(fn, 1, "normalized_shape", shape, 1)
    end
    opts = A.opts(fn, 2, opts, LN_OPTS)
    self.normalized_shape = s
    self.eps = A.num(fn, 2, "eps", opts.eps, 1e-5, 0)
    self.elementwise_affine = A.bool(fn, 2, "elementwise_affine", opts.elementwise_affine, true)
    if self.elementwise_affine then
      self.weight = A.call(cnn.ones, s, { requires_grad = true })
      self.bias = A.call(cnn.zeros, s, { requires_grad = true })
    end
  end
  function LayerNorm:forward(x)
    return A.call(F.layer_norm, x, self.normalized_shape, self.weight, self.bias, self.eps)
  end
  function LayerNorm:extra_repr()
    return ("{%s}, eps = %g, elementwise_affine = %s"):format(table.concat(self.normalized_shape, ", "), self.eps,
      tostring(self.elementwise_affine))
  end
end
M.LayerNorm = LayerNorm

-- GroupNorm(num_groups, num_channels [, {eps = 1e-5, affine = true}]): weight (ones) and bias
-- (zeros) of num_channels values when affine
local GroupNorm = Module:extend("nn.GroupNorm")
do
  local fn = "cnn.nn.GroupNorm"
  local GN_OPTS = { eps = true, affine = true }
  function GroupNorm:__init(groups, channels, opts)
    groups = A.int(fn, 1, "num_groups", groups, 1)
    channels = A.int(fn, 2, "num_channels", channels, 1)
    if channels % groups ~= 0 then
      A.fail(fn, 1, "num_groups", ("a divisor of num_channels (%d)"):format(channels), groups)
    end
    opts = A.opts(fn, 3, opts, GN_OPTS)
    self.num_groups, self.num_channels = groups, channels
    self.eps = A.num(fn, 3, "eps", opts.eps, 1e-5, 0)
    self.affine = A.bool(fn, 3, "affine", opts.affine, true)
    if self.affine then
      self.weight = A.call(cnn.ones, { channels }, { requires_grad = true })
      self.bias = A.call(cnn.zeros, { channels }, { requires_grad = true })
    end
  end
  function GroupNorm:forward(x)
    return A.call(F.group_norm, x, self.num_groups, self.weight, self.bias, self.eps)
  end
  function GroupNorm:extra_repr()
    return ("%d, %d, eps = %g, affine = %s"):format(self.num_groups, self.num_channels, self.eps, tostring(self.affine))
  end
end
M.GroupNorm = GroupNorm

return M
