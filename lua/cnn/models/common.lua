-- Shared by the zoo: the {num_classes, in_channels, width} options, channel scaling and the
-- conv + batch norm + ReLU unit (torchvision's BasicConv2d, children named conv and bn).
local cnn = require "cnn"
local nn = require "cnn.nn"
local A = require "cnn.nn.argcheck"

local M = {}

-- opts with defaults; extra lists further allowed options {name = default}
function M.options(fn, opts, extra)
  local allowed = { num_classes = 1000, in_channels = 3, width = 1 }
  for k, v in pairs(extra or {}) do allowed[k] = v end
  opts = A.opts(fn, 1, opts, allowed)
  local o = {}
  for k, v in pairs(allowed) do if opts[k] == nil then o[k] = v else o[k] = opts[k] end end
  A.int(fn, 1, "num_classes", o.num_classes, 1)
  A.int(fn, 1, "in_channels", o.in_channels, 1)
  A.num(fn, 1, "width", o.width, nil, 1e-3)
  -- channel counts scaled by width (at least 1)
  o.c = function(n) return math.max(1, math.floor(n * o.width + 0.5)) end
  return o
end

local BasicConv2d = nn.Module:extend("models.BasicConv2d")
-- (cin, cout, kernel_size [, {stride =, padding =}] [, eps = 1e-3])
function BasicConv2d:__init(cin, cout, k, opts, eps)
  local o = { bias = false }
  for key, v in pairs(opts or {}) do o[key] = v end
  self.conv = nn.Conv2d(cin, cout, k, o)
  self.bn = nn.BatchNorm2d(cout, { eps = eps or 1e-3 })
end
local conv_bn = require("cnn.nn.conv")._conv_bn     -- fused in eval mode without gradients
function BasicConv2d:forward(x) return conv_bn(self.conv, self.bn, true, x) end
M.BasicConv2d = BasicConv2d

-- a block whose forward concatenates its branches' outputs along the channels; each branch is a
-- function(self, x) given in order
function M.branch_block(name, branches)
  local cls = nn.Module:extend(name)
  function cls:forward(x)
    local outs = {}
    for i, b in ipairs(branches) do outs[i] = b(self, x) end
    return cnn.cat(outs, 2)
  end
  return cls
end

return M
