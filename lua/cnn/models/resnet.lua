-- ResNet-18/34 (BasicBlock) and ResNet-50 (Bottleneck) as torchvision's: conv1, bn1, layer1..4
-- (blocks with conv1, bn1, conv2, bn2[, conv3, bn3], downsample), fc. forward_features gives the
-- pooled features before fc.
local nn = require "cnn.nn"
local common = require "cnn.models.common"
local conv_bn = require("cnn.nn.conv")._conv_bn     -- bn(conv(x)) [:relu()], fused in eval mode without gradients

local function conv(cin, cout, k, stride)
  return nn.Conv2d(cin, cout, k, { stride = stride or 1, padding = k // 2, bias = false })
end

local BasicBlock = nn.Module:extend("models.BasicBlock")
BasicBlock.expansion = 1
function BasicBlock:__init(cin, planes, stride, downsample)
  self.conv1, self.bn1 = conv(cin, planes, 3, stride), nn.BatchNorm2d(planes)
  self.conv2, self.bn2 = conv(planes, planes, 3), nn.BatchNorm2d(planes)
  if downsample then self.downsample = downsample end
end
function BasicBlock:forward(x)
  local y = conv_bn(self.conv2, self.bn2, false, conv_bn(self.conv1, self.bn1, true, x))
  return (y + (self.downsample and self.downsample(x) or x)):relu()
end

local Bottleneck = nn.Module:extend("models.Bottleneck")
Bottleneck.expansion = 4
function Bottleneck:__init(cin, planes, stride, downsample)
  self.conv1, self.bn1 = conv(cin, planes, 1), nn.BatchNorm2d(planes)
  self.conv2, self.bn2 = conv(planes, planes, 3, stride), nn.BatchNorm2d(planes)
  self.conv3, self.bn3 = conv(planes, planes * 4, 1), nn.BatchNorm2d(planes * 4)
  if downsample then self.downsample = downsample end
end
function Bottleneck:forward(x)
  local y = conv_bn(self.conv2, self.bn2, true, conv_bn(self.conv1, self.bn1, true, x))
  y = conv_bn(self.conv3, self.bn3, false, y)
  return (y + (self.downsample and self.downsample(x) or x)):relu()
end

local ResNet = nn.Module:extend("models.ResNet")
function ResNet:__init(block, layers, o)
  local c = o.c
  local cin = c(64)
  self.conv1 = nn.Conv2d(o.in_channels, cin, 7, { stride = 2, padding = 3, bias = false })
  self.bn1 = nn.BatchNorm2d(cin)
  self.maxpool = nn.MaxPool2d(3, { stride = 2, padding = 1 })
  for i, n in ipairs(layers) do
    local planes, stride = c(64 * 2 ^ (i - 1)), i == 1 and 1 or 2
    local seq = nn.Sequential()
    for b = 1, n do
      local s = b == 1 and stride or 1
      local down
      if b == 1 and (s ~= 1 or cin ~= planes * block.expansion) then
        down = nn.Sequential{ conv(cin, planes * block.expansion, 1, s), nn.BatchNorm2d(planes * block.expansion) }
      end
      seq:add(block(cin, planes, s, down))
      cin = planes * block.expansion
    end
    self["layer" .. i] = seq
  end
  self.avgpool = nn.AdaptiveAvgPool2d(1)
  self.fc = nn.Linear(cin, o.num_classes)
  self.num_features = cin
  for _, m in ipairs(self:modules()) do
    if getmetatable(m) == nn.Conv2d then nn.init.kaiming_normal_(m.weight, { mode = "fan_out", nonlinearity = "relu" }) end
  end
end
function ResNet:forward_features(x)
  x = self.maxpool(conv_bn(self.conv1, self.bn1, true, x))
  x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
  return self.avgpool(x):flatten(2)
end
function ResNet:forward(x) return self.fc(self:forward_features(x)) end

return {
  resnet18 = function(opts) return ResNet(BasicBlock, { 2, 2, 2, 2 }, common.options("cnn.models.resnet18", opts)) end,
  resnet34 = function(opts) return ResNet(BasicBlock, { 3, 4, 6, 3 }, common.options("cnn.models.resnet34", opts)) end,
  resnet50 = function(opts) return ResNet(Bottleneck, { 3, 4, 6, 3 }, common.options("cnn.models.resnet50", opts)) end,
}
