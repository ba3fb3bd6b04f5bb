local cnn = require "cnn"
local H = require "helpers"
local models = cnn.models

-- torchvision 0.14's parameter counts for the default configurations (1000 classes)
local COUNTS = {
  { "alexnet", 61100840 }, { "vgg11", 132863336 }, { "vgg11_bn", 132868840 }, { "vgg16", 138357544 },
  { "vgg16_bn", 138365992 }, { "resnet18", 11689512 }, { "resnet34", 21797672 }, { "resnet50", 25557032 },
  { "googlenet", 6624904 }, { "googlenet", 13004888, { aux_logits = true } },
  { "inception_v3", 23834568 }, { "inception_v3", 27161264, { aux_logits = true } },
  { "resnet18", 11181642, { num_classes = 10 } },
  { "inception_resnet_v2", 55843464 },   -- the Keras/timm port's count (torchvision has none)
  { "lenet5", 61706 },
}


describe("cnn.models", function()
  it("have torchvision's parameter counts", function()
    for _, e in ipairs(COUNTS) do
      local m = models[e[1]](e[3])
      assert.equal(e[2], m:num_parameters(), e[1])
      m = nil
      collectgarbage()
    end
  end)

  it("name parameters as torchvision does, with 1-based list indices", function()
    local sd = models.resnet18{ width = 0.125 }:state_dict()
    for _, k in ipairs({ "conv1.weight", "bn1.running_var", "layer1.1.conv1.weight", "layer2.1.downsample.1.weight",
                         "layer4.2.bn2.bias", "fc.weight" }) do
      assert.truthy(sd[k], k)
    end
    sd = models.inception_v3{ width = 0.125, aux_logits = true }:state_dict()
    for _, k in ipairs({ "Conv2d_1a_3x3.conv.weight", "Mixed_6b.branch7x7dbl_5.bn.running_mean",
                         "Mixed_7c.branch3x3dbl_3b.conv.weight", "AuxLogits.conv1.conv.weight", "fc.bias" }) do
      assert.truthy(sd[k], k)
    end
    assert.truthy(models.vgg11_bn{ width = 0.125 }:state_dict()["features.2.running_mean"])
  end)

  it("scale with width and take in_channels and num_classes", function()
    local m = models.resnet18{ width = 0.25, in_channels = 1, num_classes = 7 }
    assert.same({ 16, 1, 7, 7 }, m.conv1.weight:size())
    assert.same({ 7, 128 }, m.fc.weight:size())
  end)

  it("give the right output shapes (small variants)", function()
    local x = cnn.randn(2, 1, 28, 28)
    assert.same({ 2, 10 }, models.lenet5()(x):size())
    local cases = {
      { "alexnet", 64 }, { "vgg11", 32 }, { "vgg16_bn", 32 }, { "resnet18", 32 }, { "resnet50", 32 },
      { "googlenet", 32 }, { "inception_v3", 75 }, { "inception_resnet_v2", 75 },
    }
    for _, c in ipairs(cases) do
      local m = models[c[1]]{ width = 0.0625, num_classes = 3 }:eval()
      assert.same({ 2, 3 }, m(cnn.randn(2, 3, c[2], c[2])):size(), c[1])
    end
    local inc = models.inception_v3{ width = 0.0625, num_classes = 3, aux_logits = true }
    local y, aux = inc(cnn.randn(2, 3, 299, 299))     -- the auxiliary head needs the full input size; batch norm in training needs N > 1
    assert.same({ 2, 3 }, y:size())
    assert.same({ 2, 3 }, aux:size())
    assert.is_nil(select(2, inc:eval()(cnn.randn(1, 3, 75, 75))))
  end)

  it("check their options", function()
    H.errors(function() models.resnet18{ width = 0 } end, "cnn.models.resnet18: argument 1 (width): expected a number in [0.001, inf], got 0")
    H.errors(function() models.vgg11{ classes = 3 } end, "cnn.models.vgg11: argument 1 (options): unknown option 'classes'")
  end)
end)
