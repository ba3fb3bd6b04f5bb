-- BatchNorm1d and BatchNorm2d: batch statistics in training mode (updating running_mean and
-- running_var), running statistics in eval mode; weight (ones) and bias (zeros) when affine.
-- Spec: spec/layers_spec.lua.
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

return M
