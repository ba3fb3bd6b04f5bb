-- Pooling: MaxPool1d/2d, AvgPool1d/2d (kernel_size [, {stride = kernel_size, padding = 0, ...}])
-- and AdaptiveAvgPool2d(output_size). Forward calls F. Spec: spec/layers_spec.lua.
local A = require "cnn.nn.argcheck"
local Module = require "cnn.nn.module"
local F = require "cnn.nn.functional"

local M = {}

local OPTS = { stride = true, padding = true, ceil_mode = true, count_include_pad = true }

local function pool(name, op)
  local cls = Module:extend("nn." .. name)
  local fn = "cnn.nn." .. name
  function cls:__init(k, opts)
    opts = A.opts(fn, 2, opts, OPTS)
    self.kernel_size = A.int(fn, 1, "kernel_size", type(k) == "table" and k[1] or k, 1)
    self.kernel = k
    -- only the options given are passed on, so F's defaults apply to the rest
    local o = {}
    for key, v in pairs(opts) do o[key] = v end
    self.options = o
  end
  function cls:forward(x) return F[op](x, self.kernel, self.options) end
  function cls:extra_repr()
    local k = type(self.kernel) == "table" and table.concat(self.kernel, "x") or tostring(self.kernel)
    local parts = { k }
    for key, v in pairs(self.options) do
      parts[#parts + 1] = key .. " " .. (type(v) == "table" and table.concat(v, "x") or tostring(v))
    end
    return table.concat(parts, ", ")
  end
  M[name] = cls
end

pool("MaxPool1d", "max_pool1d")
pool("MaxPool2d", "max_pool2d")
pool("AvgPool1d", "avg_pool1d")
pool("AvgPool2d", "avg_pool2d")

-- AdaptiveAvgPool2d(output_size): an int or {h, w}; output [N, C, h, w]
local Adaptive = Module:extend("nn.AdaptiveAvgPool2d")
function Adaptive:__init(size) self.output_size = A.pair("cnn.nn.AdaptiveAvgPool2d", 1, "output_size", size, nil, 1) end
function Adaptive:forward(x) return F.adaptive_avg_pool2d(x, self.output_size) end
function Adaptive:extra_repr() return table.concat(self.output_size, "x") end
M.AdaptiveAvgPool2d = Adaptive

return M
