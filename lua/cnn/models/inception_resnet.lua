-- Inception-ResNet-v2 (Szegedy et al. 2016) with the child names of the widely used Keras/timm
-- port (conv2d_1a ... mixed_5b, repeat (Block35 x10), mixed_6a, repeat_1 (Block17 x20), mixed_7a,
-- repeat_2 (Block8 x9), block8, conv2d_7b, last_linear). Residual branches are scaled (0.17, 0.10, 0.20).
local cnn = require "cnn"
local nn = require "cnn.nn"
local F = require "cnn.nn.functional"
local common = require "cnn.models.common"

local Conv = common.BasicConv2d
local function seq(...) return nn.Sequential{ ... } end
local function max3(x) return F.max_pool2d(x, 3, { stride = 2 }) end

-- a block of branch0..branchN (Sequentials or convs; "pool" marks a max-pool branch)
local Mixed = nn.Module:extend("models.Mixed")
function Mixed:__init(branches) for i, b in ipairs(branches) do if b ~= "pool" then self["branch" .. (i - 1)] = b end end; self.n = #branches end
function Mixed:forward(x)
  local outs = {}
  for i = 1, self.n do
    local b = self["branch" .. (i - 1)]
    outs[i] = b and b(x) or max3(x)
  end
  return cnn.cat(outs, 2)
end

-- x + scale * conv2d(cat(branches)), then ReLU unless no_relu
local Block = nn.Module:extend("models.InceptionResNetBlock")
function Block:__init(scale, branches, cat, cout, no_relu)
  for i, b in ipairs(branches) do self["branch" .. (i - 1)] = b end
  self.n, self.scale, self.no_relu = #branches, scale, no_relu
  self.conv2d = nn.Conv2d(cat, cout, 1)
end
function Block:forward(x)
  local outs = {}
  for i = 1, self.n do outs[i] = self["branch" .. (i - 1)](x) end
  local y = self.conv2d(cnn.cat(outs, 2)) * self.scale + x
  return self.no_relu and y or y:relu()
end

local function h(a, b, k, p) return Conv(a, b, { 1, k }, { padding = { 0, p } }) end
local function v(a, b, k, p) return Conv(a, b, { k, 1 }, { padding = { p, 0 } }) end

local IRv2 = nn.Module:extend("models.InceptionResNetV2")
function IRv2:__init(o)
  local c = o.c
  local Pool = nn.Module:extend("models.AvgPoolNoPad")
  function Pool:forward(x) return F.avg_pool2d(x, 3, { stride = 1, padding = 1, count_include_pad = false }) end
  self.conv2d_1a = Conv(o.in_channels, c(32), 3, { stride = 2 })
  self.conv2d_2a = Conv(c(32), c(32), 3)
  self.conv2d_2b = Conv(c(32), c(64), 3, { padding = 1 })
  self.maxpool_3a = nn.MaxPool2d(3, { stride = 2 })
  self.conv2d_3b = Conv(c(64), c(80), 1)
  self.conv2d_4a = Conv(c(80), c(192), 3)
  self.maxpool_5a = nn.MaxPool2d(3, { stride = 2 })
  local n = c(192)
  self.mixed_5b = Mixed{ Conv(n, c(96), 1), seq(Conv(n, c(48), 1), Conv(c(48), c(64), 5, { padding = 2 })),
    seq(Conv(n, c(64), 1), Conv(c(64), c(96), 3, { padding = 1 }), Conv(c(96), c(96), 3, { padding = 1 })),
    seq(Pool(), Conv(n, c(64), 1)) }
  n = c(96) + c(64) + c(96) + c(64)
  self["repeat"] = nn.Sequential()
  for _ = 1, 10 do
    self["repeat"]:add(Block(0.17, { Conv(n, c(32), 1), seq(Conv(n, c(32), 1), Conv(c(32), c(32), 3, { padding = 1 })),
      seq(Conv(n, c(32), 1), Conv(c(32), c(48), 3, { padding = 1 }), Conv(c(48), c(64), 3, { padding = 1 })) },
      c(32) + c(32) + c(64), n))
  end
  self.mixed_6a = Mixed{ Conv(n, c(384), 3, { stride = 2 }),
    seq(Conv(n, c(256), 1), Conv(c(256), c(256), 3, { padding = 1 }), Conv(c(256), c(384), 3, { stride = 2 })), "pool" }
  n = c(384) + c(384) + n
  self.repeat_1 = nn.Sequential()
  for _ = 1, 20 do
    self.repeat_1:add(Block(0.10, { Conv(n, c(192), 1), seq(Conv(n, c(128), 1), h(c(128), c(160), 7, 3), v(c(160), c(192), 7, 3)) },
      c(192) + c(192), n))
  end
  self.mixed_7a = Mixed{ seq(Conv(n, c(256), 1), Conv(c(256), c(384), 3, { stride = 2 })),
    seq(Conv(n, c(256), 1), Conv(c(256), c(288), 3, { stride = 2 })),
    seq(Conv(n, c(256), 1), Conv(c(256), c(288), 3, { padding = 1 }), Conv(c(288), c(320), 3, { stride = 2 })), "pool" }
  n = c(384) + c(288) + c(320) + n
  local function block8(scale, no_relu)
    return Block(scale, { Conv(n, c(192), 1), seq(Conv(n, c(192), 1), h(c(192), c(224), 3, 1), v(c(224), c(256), 3, 1)) },
      c(192) + c(256), n, no_relu)
  end
  self.repeat_2 = nn.Sequential()
  for _ = 1, 9 do self.repeat_2:add(block8(0.20)) end
  self.block8 = block8(1.0, true)
  self.conv2d_7b = Conv(n, c(1536), 1)
  self.avgpool = nn.AdaptiveAvgPool2d(1)
  self.last_linear = nn.Linear(c(1536), o.num_classes)
  self.num_features = c(1536)
end
function IRv2:forward_features(x)
  for _, k in ipairs({ "conv2d_1a", "conv2d_2a", "conv2d_2b", "maxpool_3a", "conv2d_3b", "conv2d_4a", "maxpool_5a",
                       "mixed_5b", "repeat", "mixed_6a", "repeat_1", "mixed_7a", "repeat_2", "block8", "conv2d_7b" }) do
    x = self[k](x)
  end
  return self.avgpool(x):flatten(2)
end
function IRv2:forward(x) return self.last_linear(self:forward_features(x)) end

return function(opts) return IRv2(common.options("cnn.models.inception_resnet_v2", opts)) end
