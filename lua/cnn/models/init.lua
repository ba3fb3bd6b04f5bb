-- cnn.models: the model zoo. Each constructor takes {num_classes = 1000, in_channels = 3,
-- width = 1} (width scales every channel count, for small CPU-sized variants) and returns an
-- nn.Module whose parameter names follow torchvision's (1-based list indices), so that weights
-- converted by scripts/torch2safetensors.py load. Reference: docs/api-nn.md.
local models = {}

local FILES = {
  lenet5 = { "lenet" }, alexnet = { "alexnet" },
  vgg11 = { "vgg", "vgg11" }, vgg11_bn = { "vgg", "vgg11_bn" }, vgg16 = { "vgg", "vgg16" }, vgg16_bn = { "vgg", "vgg16_bn" },
  resnet18 = { "resnet", "resnet18" }, resnet34 = { "resnet", "resnet34" }, resnet50 = { "resnet", "resnet50" },
  googlenet = { "googlenet" }, inception_v3 = { "inception" }, inception_resnet_v2 = { "inception_resnet" },
}

setmetatable(models, {
  __index = function(t, k)
    local f = FILES[k]
    if not f then return nil end
    local m = require("cnn.models." .. f[1])
    if f[2] then m = m[f[2]] end
    rawset(t, k, m)
    return m
  end,
})

return models
