-- Inception-v3 as torchvision's (Conv2d_1a_3x3 ... Mixed_7c, AuxLogits, fc; the same child names,
-- so converted torchvision weights load). aux_logits = true adds AuxLogits: forward returns
-- logits, aux in training mode. forward_features gives the pooled 2048 features of the trunk.
local nn = require "cnn.nn"
local F = require "cnn.nn.functional"
local common = require "cnn.models.common"

local Conv = common.BasicConv2d
local function avg3(x) return F.avg_pool2d(x, 3, { stride = 1, padding = 1 }) end
local function max3(x) return F.max_pool2d(x, 3, { stride = 2 }) end

local A = common.branch_block("models.InceptionA", {
  function(s, x) return s.branch1x1(x) end,
  function(s, x) return s.branch5x5_2(s.branch5x5_1(x)) end,
  function(s, x) return s.branch3x3dbl_3(s.branch3x3dbl_2(s.branch3x3dbl_1(x))) end,
  function(s, x) return s.branch_pool(avg3(x)) end,
})
local function inceptionA(c, cin, pool_features)
  local m = A()
  m.branch1x1 = Conv(cin, c(64), 1)
  m.branch5x5_1, m.branch5x5_2 = Conv(cin, c(48), 1), Conv(c(48), c(64), 5, { padding = 2 })
  m.branch3x3dbl_1 = Conv(cin, c(64), 1)
  m.branch3x3dbl_2 = Conv(c(64), c(96), 3, { padding = 1 })
  m.branch3x3dbl_3 = Conv(c(96), c(96), 3, { padding = 1 })
  m.branch_pool = Conv(cin, c(pool_features), 1)
  return m, c(64) + c(64) + c(96) + c(pool_features)
end

local B = common.branch_block("models.InceptionB", {
  function(s, x) return s.branch3x3(x) end,
  function(s, x) return s.branch3x3dbl_3(s.branch3x3dbl_2(s.branch3x3dbl_1(x))) end,
  function(_, x) return max3(x) end,
})
local function inceptionB(c, cin)
  local m = B()
  m.branch3x3 = Conv(cin, c(384), 3, { stride = 2 })
  m.branch3x3dbl_1 = Conv(cin, c(64), 1)
  m.branch3x3dbl_2 = Conv(c(64), c(96), 3, { padding = 1 })
  m.branch3x3dbl_3 = Conv(c(96), c(96), 3, { stride = 2 })
  return m, c(384) + c(96) + cin
end

local Cb = common.branch_block("models.InceptionC", {
  function(s, x) return s.branch1x1(x) end,
  function(s, x) return s.branch7x7_3(s.branch7x7_2(s.branch7x7_1(x))) end,
  function(s, x)
    for i = 1, 5 do x = s["branch7x7dbl_" .. i](x) end
    return x
  end,
  function(s, x) return s.branch_pool(avg3(x)) end,
})
local function inceptionC(c, cin, c7)
  local m, h, v = Cb(), { kernel = { 1, 7 }, padding = { 0, 3 } }, { kernel = { 7, 1 }, padding = { 3, 0 } }
  local function k(a, b, d) return Conv(a, b, d.kernel, { padding = d.padding }) end
  c7 = c(c7)
  m.branch1x1 = Conv(cin, c(192), 1)
  m.branch7x7_1, m.branch7x7_2, m.branch7x7_3 = Conv(cin, c7, 1), k(c7, c7, h), k(c7, c(192), v)
  m.branch7x7dbl_1, m.branch7x7dbl_2, m.branch7x7dbl_3 = Conv(cin, c7, 1), k(c7, c7, v), k(c7, c7, h)
  m.branch7x7dbl_4, m.branch7x7dbl_5 = k(c7, c7, v), k(c7, c(192), h)
  m.branch_pool = Conv(cin, c(192), 1)
  return m, 4 * c(192)
end

local D = common.branch_block("models.InceptionD", {
  function(s, x) return s.branch3x3_2(s.branch3x3_1(x)) end,
  function(s, x) return s.branch7x7x3_4(s.branch7x7x3_3(s.branch7x7x3_2(s.branch7x7x3_1(x)))) end,
  function(_, x) return max3(x) end,
})
local function inceptionD(c, cin)
  local m = D()
  m.branch3x3_1, m.branch3x3_2 = Conv(cin, c(192), 1), Conv(c(192), c(320), 3, { stride = 2 })
  m.branch7x7x3_1 = Conv(cin, c(192), 1)
  m.branch7x7x3_2 = Conv(c(192), c(192), { 1, 7 }, { padding = { 0, 3 } })
  m.branch7x7x3_3 = Conv(c(192), c(192), { 7, 1 }, { padding = { 3, 0 } })
  m.branch7x7x3_4 = Conv(c(192), c(192), 3, { stride = 2 })
  return m, c(320) + c(192) + cin
end

local cnn = require "cnn"
local E = common.branch_block("models.InceptionE", {
  function(s, x) return s.branch1x1(x) end,
  function(s, x)
    local y = s.branch3x3_1(x)
    return cnn.cat({ s.branch3x3_2a(y), s.branch3x3_2b(y) }, 2)
  end,
  function(s, x)
    local y = s.branch3x3dbl_2(s.branch3x3dbl_1(x))
    return cnn.cat({ s.branch3x3dbl_3a(y), s.branch3x3dbl_3b(y) }, 2)
  end,
  function(s, x) return s.branch_pool(avg3(x)) end,
})
local function inceptionE(c, cin)
  local m = E()
  local function h(a, b) return Conv(a, b, { 1, 3 }, { padding = { 0, 1 } }) end
  local function v(a, b) return Conv(a, b, { 3, 1 }, { padding = { 1, 0 } }) end
  m.branch1x1 = Conv(cin, c(320), 1)
  m.branch3x3_1, m.branch3x3_2a, m.branch3x3_2b = Conv(cin, c(384), 1), h(c(384), c(384)), v(c(384), c(384))
  m.branch3x3dbl_1 = Conv(cin, c(448), 1)
  m.branch3x3dbl_2 = Conv(c(448), c(384), 3, { padding = 1 })
  m.branch3x3dbl_3a, m.branch3x3dbl_3b = h(c(384), c(384)), v(c(384), c(384))
  m.branch_pool = Conv(cin, c(192), 1)
  return m, c(320) + 4 * c(384) + c(192)
end

local Aux = nn.Module:extend("models.InceptionAux")
function Aux:__init(cin, classes, c)
  self.conv0 = Conv(cin, c(128), 1)
  self.conv1 = Conv(c(128), c(768), 5)
  self.fc = nn.Linear(c(768), classes)
end
function Aux:forward(x)
  x = self.conv1(self.conv0(F.avg_pool2d(x, 5, { stride = 3 })))
  return self.fc(F.adaptive_avg_pool2d(x, { 1, 1 }):flatten(2))
end

local Inception3 = nn.Module:extend("models.Inception3")
function Inception3:__init(o)
  local c = o.c
  self.Conv2d_1a_3x3 = Conv(o.in_channels, c(32), 3, { stride = 2 })
  self.Conv2d_2a_3x3 = Conv(c(32), c(32), 3)
  self.Conv2d_2b_3x3 = Conv(c(32), c(64), 3, { padding = 1 })
  self.Conv2d_3b_1x1 = Conv(c(64), c(80), 1)
  self.Conv2d_4a_3x3 = Conv(c(80), c(192), 3)
  local n = c(192)
  self.Mixed_5b, n = inceptionA(c, n, 32)
  self.Mixed_5c, n = inceptionA(c, n, 64)
  self.Mixed_5d, n = inceptionA(c, n, 64)
  self.Mixed_6a, n = inceptionB(c, n)
  self.Mixed_6b, n = inceptionC(c, n, 128)
  self.Mixed_6c, n = inceptionC(c, n, 160)
  self.Mixed_6d, n = inceptionC(c, n, 160)
  self.Mixed_6e, n = inceptionC(c, n, 192)
  if o.aux_logits then self.AuxLogits = Aux(n, o.num_classes, c) end
  self.Mixed_7a, n = inceptionD(c, n)
  self.Mixed_7b, n = inceptionE(c, n)
  self.Mixed_7c, n = inceptionE(c, n)
  self.avgpool = nn.AdaptiveAvgPool2d(1)
  self.dropout = nn.Dropout(0.5)
  self.fc = nn.Linear(n, o.num_classes)
  self.num_features = n
end
-- the trunk up to Mixed_6e, then the rest; returns the pooled features and the Mixed_6e map
local function trunk(self, x)
  x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
  x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(max3(x)))
  x = max3(x)
  for _, n in ipairs({ "5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e" }) do x = self["Mixed_" .. n](x) end
  local mid = x
  x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
  return self.avgpool(x):flatten(2), mid
end
function Inception3:forward_features(x) return (trunk(self, x)) end
function Inception3:forward(x)
  local f, mid = trunk(self, x)
  local y = self.fc(self.dropout(f))
  if self.AuxLogits and self.training then return y, self.AuxLogits(mid) end
  return y
end

return function(opts) return Inception3(common.options("cnn.models.inception_v3", opts, { aux_logits = false })) end
