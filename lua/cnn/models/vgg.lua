-- VGG-11 and VGG-16, with and without batch norm, as torchvision's (features, avgpool, classifier).
local nn = require "cnn.nn"
local common = require "cnn.models.common"

local CFG = {
  vgg11 = { 64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M" },
  vgg16 = { 64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M" },
}

local VGG = nn.Module:extend("models.VGG")
function VGG:__init(cfg, o)
  local c, cin = o.c, o.in_channels
  self.features = nn.Sequential()
  for _, v in ipairs(cfg) do
    if v == "M" then self.features:add(nn.MaxPool2d(2, { stride = 2 }))
    else
      self.features:add(nn.Conv2d(cin, c(v), 3, { padding = 1 }))
      if o.batch_norm then self.features:add(nn.BatchNorm2d(c(v))) end
      self.features:add(nn.ReLU())
      cin = c(v)
    end
  end
  self.avgpool = nn.AdaptiveAvgPool2d(7)
  self.classifier = nn.Sequential{
    nn.Linear(cin * 49, c(4096)), nn.ReLU(), nn.Dropout(0.5),
    nn.Linear(c(4096), c(4096)), nn.ReLU(), nn.Dropout(0.5), nn.Linear(c(4096), o.num_classes),
  }
end
function VGG:forward(x) return self.classifier(self.avgpool(self.features(x)):flatten(2)) end

local M = {}
for _, name in ipairs({ "vgg11", "vgg16" }) do
  M[name] = function(opts) return VGG(CFG[name], common.options("cnn.models." .. name, opts, { batch_norm = false })) end
  M[name .. "_bn"] = function(opts)
    local o = common.options("cnn.models." .. name .. "_bn", opts)
    o.batch_norm = true
    return VGG(CFG[name], o)
  end
end
return M
