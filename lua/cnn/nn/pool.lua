-- Pooling: MaxPool1d/2d, AvgPool1d/2d (kernel_size [, {stride = kernel_size, padding = 0, ...}])
-- and AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d(output_size). Forward calls F. Spec: spec/layers_spec.lua.
local A = require "cnn.nn.argcheck"
local Module = require "cnn.nn.module"
local F = require "cnn.nn.functional"

local M = {}

-- the options each kind takes, with the attribute defaults (stride: the kernel size)
local KEYS = { max = { "stride", "padding", "dilation", "ceil_mode" },
               avg = { "stride", "padding", "ceil_mode", "count_include_pad" } }

-- attributes as PyTorch's: kernel_size, stride, padding (and dilation) are an int (1-d) or a
-- pair {h, w} (2-d); ceil_mode, count_include_pad booleans
local function pool(name, op, kind, nd)
  local cls = Module:extend("nn." .. name)
  local fn = "cnn.nn." .. name
  -- pick(fn, i, name, v, default, min): a pair (2-d) or an int (1-d)
  local pick = nd == 2 and A.pair
    or function(f, i, name, v, default, min) return A.int(f, i, name, v, min, default) end
  function cls:__init(k, opts)
    self.kernel_size = pick(fn, 1, "kernel_size", k, nil, 1)
    opts = A.opts(fn, 2, opts, KEYS[kind])
    self.stride = pick(fn, 2, "stride", opts.stride, self.kernel_size, 1)
    self.padding = pick(fn, 2, "padding", opts.padding, 0, 0)
    if kind == "max" then self.dilation = pick(fn, 2, "dilation", opts.dilation, 1, 1) end
    self.ceil_mode = A.bool(fn, 2, "ceil_mode", opts.ceil_mode, false)
    if kind == "avg" then self.count_include_pad = A.bool(fn, 2, "count_include_pad", opts.count_include_pad, true) end
    self.given = {}                      -- the options given, in the printed form
    for _, key in ipairs(KEYS[kind]) do if opts[key] ~= nil then self.given[#self.given + 1] = key end end
  end
  function cls:forward(x)
    local o = { stride = self.stride, padding = self.padding, ceil_mode = self.ceil_mode }
    if kind == "max" then o.dilation = self.dilation else o.count_include_pad = self.count_include_pad end
    return A.call(F[op], x, self.kernel_size, o)
  end
  local function s(v) return type(v) == "table" and table.concat(v, "x") or tostring(v) end
  function cls:extra_repr()
    local parts = { s(self.kernel_size) }
    for _, key in ipairs(self.given) do parts[#parts + 1] = key .. " " .. s(self[key]) end
    return table.concat(parts, ", ")
  end
  M[name] = cls
end

pool("MaxPool1d", "max_pool1d", "max", 1)
pool("MaxPool2d", "max_pool2d", "max", 2)
pool("AvgPool1d", "avg_pool1d", "avg", 1)
pool("AvgPool2d", "avg_pool2d", "avg", 2)

-- AdaptiveAvgPool2d / AdaptiveMaxPool2d(output_size): an int or {h, w}; output [N, C, h, w]
-- (a 3-D input is one unbatched (C,H,W) image, as PyTorch). AdaptiveAvgPool1d /
-- AdaptiveMaxPool1d(output_size): an int; output [N, C, output_size] (a 2-D input is (C,L)).
local function adaptive(name, op, nd)
  local cls = Module:extend("nn." .. name)
  local fn = "cnn.nn." .. name
  function cls:__init(size)
    if nd == 2 then self.output_size = A.pair(fn, 1, "output_size", size, nil, 1)
    else self.output_size = A.int(fn, 1, "output_size", size, 1) end
  end
  function cls:forward(x) return A.call(F[op], x, self.output_size) end
  function cls:extra_repr()
    return nd == 2 and table.concat(self.output_size, "x") or tostring(self.output_size)
  end
  M[name] = cls
end

adaptive("AdaptiveAvgPool2d", "adaptive_avg_pool2d", 2)
adaptive("AdaptiveAvgPool1d", "adaptive_avg_pool1d", 1)
adaptive("AdaptiveMaxPool2d", "adaptive_max_pool2d", 2)
adaptive("AdaptiveMaxPool1d", "adaptive_max_pool1d", 1)

return M
