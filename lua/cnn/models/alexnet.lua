-- AlexNet as torchvision's (features, avgpool, classifier; 61,100,840 parameters for 1000 classes).
local nn = require "cnn.nn"
local common = require "cnn.models.common"

local AlexNet = nn.Module:extend("models.AlexNet")
function AlexNet:__init(o)
  local c = o.c
  self.features = nn.Sequential{
    nn.Conv2d(o.in_channels, c(64), 11, { stride = 4, padding = 2 }), nn.ReLU(), nn.MaxPool2d(3, { stride = 2 }),
    nn.Conv2d(c(64), c(192), 5, { padding = 2 }), nn.ReLU(), nn.MaxPool2d(3, { stride = 2 }),
    nn.Conv2d(c(192), c(384), 3, { padding = 1 }), nn.ReLU(),
    nn.Conv2d(c(384), c(256), 3, { padding = 1 }), nn.ReLU(),
    nn.Conv2d(c(256), c(256), 3, { padding = 1 }), nn.ReLU(), nn.MaxPool2d(3, { stride = 2 }),
  }
  self.avgpool = nn.AdaptiveAvgPool2d(6)
  self.classifier = nn.Sequential{
    nn.Dropout(0.5), nn.Linear(c(256) * 36, c(4096)), nn.ReLU(),
    nn.Dropout(0.5), nn.Linear(c(4096), c(4096)), nn.ReLU(), nn.Linear(c(4096), o.num_classes),
  }
end
function AlexNet:forward(x) return self.classifier(self.avgpool(self.features(x)):flatten(2)) end

return function(opts) return AlexNet(common.options("cnn.models.alexnet", opts)) end
