-- GoogLeNet (Inception v1) as torchvision's: conv1..3, inception3a..5b (branch1..4), optional aux1/aux2
-- (aux_logits = true: forward returns logits, aux2, aux1 in training mode), dropout, fc.
local nn = require "cnn.nn"
local F = require "cnn.nn.functional"
local common = require "cnn.models.common"

local Conv = common.BasicConv2d
local function pool(k, s, p) return nn.MaxPool2d(k, { stride = s, padding = p, ceil_mode = true }) end

local Inception = common.branch_block("models.Inception", {
  function(self, x) return self.branch1(x) end, function(self, x) return self.branch2(x) end,
  function(self, x) return self.branch3(x) end, function(self, x) return self.branch4(x) end,
})
-- channels: (in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, "5x5" (3x3 as in torchvision), pool proj)
local function inception(c, cin, a, br, b, cr, cc, p)
  local m = Inception()
  m.branch1 = Conv(cin, c(a), 1)
  m.branch2 = nn.Sequential{ Conv(cin, c(br), 1), Conv(c(br), c(b), 3, { padding = 1 }) }
  m.branch3 = nn.Sequential{ Conv(cin, c(cr), 1), Conv(c(cr), c(cc), 3, { padding = 1 }) }
  m.branch4 = nn.Sequential{ pool(3, 1, 1), Conv(cin, c(p), 1) }
  return m, c(a) + c(b) + c(cc) + c(p)
end

local Aux = nn.Module:extend("models.InceptionAux")
function Aux:__init(cin, classes, c)
  self.conv = Conv(cin, c(128), 1)
  self.fc1 = nn.Linear(c(128) * 16, c(1024))
  self.fc2 = nn.Linear(c(1024), classes)
end
function Aux:forward(x)
  x = self.conv(F.adaptive_avg_pool2d(x, { 4, 4 })):flatten(2)
  x = F.dropout(self.fc1(x):relu(), 0.7, self.training)
  return self.fc2(x)
end

local GoogLeNet = nn.Module:extend("models.GoogLeNet")
local BLOCKS = {
  { "inception3a", 64, 96, 128, 16, 32, 32 }, { "inception3b", 128, 128, 192, 32, 96, 64 }, "maxpool3",
  { "inception4a", 192, 96, 208, 16, 48, 64 }, { "inception4b", 160, 112, 224, 24, 64, 64 },
  { "inception4c", 128, 128, 256, 24, 64, 64 }, { "inception4d", 112, 144, 288, 32, 64, 64 },
  { "inception4e", 256, 160, 320, 32, 128, 128 }, "maxpool4",
  { "inception5a", 256, 160, 320, 32, 128, 128 }, { "inception5b", 384, 192, 384, 48, 128, 128 },
}
function GoogLeNet:__init(o)
  local c = o.c
  self.conv1 = Conv(o.in_channels, c(64), 7, { stride = 2, padding = 3 })
  self.maxpool1 = pool(3, 2)
  self.conv2 = Conv(c(64), c(64), 1)
  self.conv3 = Conv(c(64), c(192), 3, { padding = 1 })
  self.maxpool2 = pool(3, 2)
  local cin = c(192)
  for _, b in ipairs(BLOCKS) do
    if b == "maxpool3" then self.maxpool3 = pool(3, 2)
    elseif b == "maxpool4" then self.maxpool4 = pool(2, 2)
    else
      self[b[1]], cin = inception(c, cin, table.unpack(b, 2))
      if b[1] == "inception4a" then self.aux_in1 = cin end
      if b[1] == "inception4d" then self.aux_in2 = cin end
    end
  end
  if o.aux_logits then
    self.aux1 = Aux(self.aux_in1, o.num_classes, c)
    self.aux2 = Aux(self.aux_in2, o.num_classes, c)
  end
  self.avgpool = nn.AdaptiveAvgPool2d(1)
  self.dropout = nn.Dropout(0.2)
  self.fc = nn.Linear(cin, o.num_classes)
end
function GoogLeNet:forward(x)
  x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(self.conv1(x)))))
  x = self.maxpool3(self.inception3b(self.inception3a(x)))
  x = self.inception4a(x)
  local aux1 = self.aux1 and self.training and self.aux1(x)
  x = self.inception4d(self.inception4c(self.inception4b(x)))
  local aux2 = self.aux2 and self.training and self.aux2(x)
  x = self.maxpool4(self.inception4e(x))
  x = self.inception5b(self.inception5a(x))
  x = self.fc(self.dropout(self.avgpool(x):flatten(2)))
  if aux1 then return x, aux2, aux1 end
  return x
end

return function(opts) return GoogLeNet(common.options("cnn.models.googlenet", opts, { aux_logits = false })) end
