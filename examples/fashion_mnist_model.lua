-- The CNN of examples/fashion_mnist.lua, shared with bench/fashion_mnist.lua (and PyTorch's twin,
-- bench/fashion_mnist_torch.py, which must stay the same architecture):
-- 1x28x28 -> [conv 3x3 + batch norm + relu + max-pool 2] x2 -> 64x7x7 -> dropout -> 128 -> dropout -> 10
local nn = require("cnn").nn

return function()
  return nn.Sequential{
    nn.Conv2d(1, 32, 3, { padding = 1, bias = false }), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, { padding = 1, bias = false }), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Dropout(0.25),
    nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5),
    nn.Linear(128, 10),
  }
end
