-- Conv1d and Conv2d: weight [OC, C/groups, KH, KW] (Conv1d: [OC, C/groups, K]) and bias [OC],
-- initialised as PyTorch's; forward calls F.conv2d / F.conv1d. Spec: spec/layers_spec.lua.
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

return M
