-- The zoo against torchvision: weights converted by scripts/torch2safetensors.py load strictly and
-- give torchvision's eval-mode outputs. Fixtures come from spec/parity/gen_torchvision.py, which
-- `make test-torch` runs into $CNN_TORCHVISION_DIR; without them these specs are pending.
local cnn = require "cnn"
local H = require "helpers"

local dir = os.getenv("CNN_TORCHVISION_DIR")
local MODELS = { "alexnet", "vgg11", "vgg11_bn", "vgg16_bn", "resnet18", "resnet34", "resnet50", "googlenet", "inception_v3" }

describe("zoo parity with torchvision", function()
  for _, name in ipairs(MODELS) do
    local file = dir and dir .. "/" .. name .. ".safetensors"
    local f = file and io.open(file, "rb")
    if f then f:close() end
    ;(f and it or pending)(name, function()
      local m = cnn.models[name]{ num_classes = 10 }
      m:load_state_dict(cnn.load(file))
      m:eval()
      local io_ = cnn.load(dir .. "/" .. name .. "_io.safetensors")
      local y = cnn.no_grad(function() return m(io_.input) end)
      local scale = io_.output:abs():max():item()
      H.close(y, io_.output, 1e-4 * math.max(1, scale))
    end)
  end
end)
