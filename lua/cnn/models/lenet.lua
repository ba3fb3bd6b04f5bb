-- LeNet-5 ({in_channels = 1, num_classes = 10} by default; ReLU and max pooling, padding 2 so that 28x28 and 32x32 inputs both work):
-- features Conv(in, 6, 5) -> pool -> Conv(6, 16, 5) -> pool; classifier 400 -> 120 -> 84 -> classes.
local nn = require "cnn.nn"
local common = require "cnn.models.common"

return function(opts)
  local o = common.options("cnn.models.lenet5", opts, { in_channels = 1, num_classes = 10 })
  local c = o.c
  return nn.Sequential{
    nn.Conv2d(o.in_channels, c(6), 5, { padding = 2 }), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(c(6), c(16), 5), nn.ReLU(), nn.MaxPool2d(2),
    nn.AdaptiveAvgPool2d(5), nn.Flatten(),
    nn.Linear(c(16) * 25, c(120)), nn.ReLU(), nn.Linear(c(120), c(84)), nn.ReLU(), nn.Linear(c(84), o.num_classes),
  }
end
