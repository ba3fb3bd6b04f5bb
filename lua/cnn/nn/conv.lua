-- Conv1d and Conv2d: weight [OC, C/groups, KH, KW] (Conv1d: [OC, C/groups, K]) and bias [OC],
-- initialised as PyTorch's; forward calls F.conv2d / F.conv1d. Spec: spec/layers_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local Module = require "cnn.nn.module"
local F = require "cnn.nn.functional"
local init = require "cnn.nn.weight_init"
local L = require "cnn.nn.linear"

local M = {}

local OPTS = { stride = true, padding = true, dilation = true, groups = true, bias = true }

local function conv(name, op, nd)
  local cls = Module:extend("nn." .. name)
  local fn = "cnn.nn." .. name
  -- (in_channels, out_channels, kernel_size [, {stride = 1, padding = 0, dilation = 1, groups = 1, bias = true}]);
  -- padding may also be "valid" or "same" (stride 1), passed on to F.conv1d / F.conv2d
  function cls:__init(cin, cout, k, opts)
    cin, cout = A.int(fn, 1, "in_channels", cin, 1), A.int(fn, 2, "out_channels", cout, 1)
    opts = A.opts(fn, 4, opts, OPTS)
    local g = A.int(fn, 4, "groups", opts.groups, 1, 1)
    if cin % g ~= 0 or cout % g ~= 0 then
      A.fail(fn, 4, "groups", ("a divisor of in_channels (%d) and out_channels (%d)"):format(cin, cout), g)
    end
    -- pick(fn, i, name, v, default, min): a pair (2-d) or an int (1-d)
    local pick = nd == 2 and A.pair
      or function(f, i, name, v, default, min) return A.int(f, i, name, v, min, default) end
    self.in_channels, self.out_channels, self.groups = cin, cout, g
    self.kernel_size = pick(fn, 3, "kernel_size", k, nil, 1)
    self.stride = pick(fn, 4, "stride", opts.stride, 1, 1)
    if opts.padding == "same" or opts.padding == "valid" then
      self.padding = opts.padding         -- kept as the string, as PyTorch
      local st = nd == 2 and self.stride or { self.stride }
      if opts.padding == "same" and (st[1] ~= 1 or st[#st] ~= 1) then
        A.fail(fn, 4, "stride", 'stride 1 with padding "same" (as PyTorch)', opts.stride)
      end
    else
      self.padding = pick(fn, 4, "padding", opts.padding, 0, 0)
    end
    self.dilation = pick(fn, 4, "dilation", opts.dilation, 1, 1)
    local ks = nd == 2 and self.kernel_size or { self.kernel_size }
    self.weight = L.param(cout, cin // g, table.unpack(ks))
    if A.bool(fn, 4, "bias", opts.bias, true) then self.bias = L.param(cout) else self:register_parameter("bias", nil) end
    init.default_(self.weight, self.bias)
  end
  function cls:forward(x)
    return A.call(F[op], x, self.weight, self.bias, { stride = self.stride, padding = self.padding,
                                              dilation = self.dilation, groups = self.groups })
  end
  function cls:extra_repr()
    local function s(v) return type(v) == "table" and table.concat(v, "x") or tostring(v) end
    local r = ("%d -> %d, %s"):format(self.in_channels, self.out_channels, s(self.kernel_size))
    if s(self.stride) ~= (nd == 2 and "1x1" or "1") then r = r .. ", stride " .. s(self.stride) end
    if s(self.padding) ~= (nd == 2 and "0x0" or "0") then r = r .. ", padding " .. s(self.padding) end
    if self.groups ~= 1 then r = r .. ", groups " .. self.groups end
    return r
  end
  M[name] = cls
end

conv("Conv1d", "conv1d", 1)
conv("Conv2d", "conv2d", 2)

-- Inference fusion. In eval mode without gradients, conv -> batch norm (running statistics) ->
-- ReLU is one affine map per output channel after the convolution: the convolution applies it
-- to each part of its output while that part is still in cache (cnn._conv2d_affine), where
-- separately they are three passes over memory and two more tensors (inception_v3's features:
-- batch norm and ReLU were 25% of the time). Only when nobody can tell: plain nn.Conv2d and
-- nn.BatchNorm2d / nn.ReLU (no subclass), no hooks on any of them, integer padding, a tensor
-- input of the weight's dtype; the result differs from the unfused one by float rounding only.
local function hookless(m)
  local a, b = rawget(m, "_forward_pre_hooks"), rawget(m, "_forward_hooks")
  return (a == nil or #a == 0) and (b == nil or #b == 0)
end

local Conv2d = M.Conv2d
local BatchNorm2d, ReLU        -- loaded on first use (norm.lua and activation.lua need this file's siblings)

-- 1 when conv, bn|nil, relu|nil can run fused on x now (see above)
local function fusable(conv, bn, relu, x)
  if cnn.is_grad_enabled() or getmetatable(conv) ~= Conv2d or not hookless(conv) then return false end
  if type(conv.padding) ~= "table" or not cnn.is_tensor(x) or x.dtype ~= conv.weight.dtype then return false end
  if conv.bias and conv.bias.dtype ~= x.dtype then return false end
  if bn then                    -- batch norm of an unbatched (C,H,W) output is an error unfused: keep it
    if x:dim() ~= 4 then return false end
    BatchNorm2d = BatchNorm2d or require("cnn.nn.norm").BatchNorm2d
    if getmetatable(bn) ~= BatchNorm2d or bn.training or bn.running_mean == nil or not hookless(bn) then return false end
    if bn.running_mean.dtype ~= x.dtype or (bn.weight and bn.weight.dtype ~= x.dtype) then return false end
  end
  if relu then
    ReLU = ReLU or require("cnn.nn.activation").ReLU
    if getmetatable(relu) ~= ReLU or not hookless(relu) then return false end
  end
  return true
end

-- relu: a ReLU module, true (the caller's own :relu()), or nil
local function fused(conv, bn, relu, x)
  local scale, shift = nil, conv.bias
  if bn then
    scale = 1 / (bn.running_var + bn.eps):sqrt()
    if bn.weight then scale = scale * bn.weight end
    shift = -(bn.running_mean * scale)
    if bn.bias then shift = shift + bn.bias end
    if conv.bias then shift = shift + conv.bias * scale end
  end
  return cnn._conv2d_affine(x, conv.weight, scale, shift, relu ~= nil,
    { stride = conv.stride, padding = conv.padding, dilation = conv.dilation, groups = conv.groups })
end

-- bn(conv(x)), then :relu() when relu is true; fused when it may be (private: the model zoo)
function M._conv_bn(conv, bn, relu, x)
  if fusable(conv, bn, nil, x) then return fused(conv, bn, relu or nil, x) end
  local y = bn(conv(x))
  if relu then y = y:relu() end
  return y
end

-- mods[i] is a Conv2d: how many of mods[i], mods[i+1] (BatchNorm2d), mods[i+2] (ReLU) run fused
-- on x, and the output; 0 when they must run one by one (nn.Sequential's forward)
function M._fuse_at(mods, i, x)
  local conv, bn, relu = mods[i], mods[i + 1], nil
  BatchNorm2d = BatchNorm2d or require("cnn.nn.norm").BatchNorm2d
  ReLU = ReLU or require("cnn.nn.activation").ReLU
  if getmetatable(bn) ~= BatchNorm2d then bn = nil end
  local r = mods[i + (bn and 2 or 1)]
  if getmetatable(r) == ReLU then relu = r end
  if (bn == nil and relu == nil) or not fusable(conv, bn, relu, x) then return 0 end
  return 1 + (bn and 1 or 0) + (relu and 1 or 0), fused(conv, bn, relu, x)
end

return M
