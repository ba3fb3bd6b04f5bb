-- bench/amd.lua: training images per second of the AMD models' trunks (issue 19): the small trunk
-- with the paper's severity head at the demo's size (64x64, batch 32) and inception_v3 at 224x224,
-- batch 8 (forward + backward + Adam step, binary cross-entropy on the 2 severity outputs). Its
-- twin bench/amd_torch.py builds the same networks in PyTorch.
local cnn = require "cnn"
local B = require "lib"

local function case(name, backbone, size, batch, reps)
  cnn.manual_seed(1)
  local m = cnn.amd.model { design = "paper", backbone = backbone, image_size = size }
  local x = cnn.rand(batch, 3, size, size)
  local y = cnn.rand(batch, 2):round()
  local params = {}
  for _, p in ipairs(m.trunk:parameters()) do params[#params + 1] = p end
  for _, p in ipairs(m.severity:parameters()) do params[#params + 1] = p end
  local opt = cnn.optim.Adam(params)
  local s = B.time(function()
    local loss = cnn.F.binary_cross_entropy_with_logits(m:severity_logits(m:features(x)), y)
    opt:zero_grad()
    loss:backward()
    opt:step()
  end, { reps = reps, warm = 1 })
  B.result("amd", name, s, nil, ("%.1f images/s"):format(batch / s))
end

case("small trunk 64x64 b32 train step", "small", 64, 32, 7)
case("inception_v3 224x224 b8 train step", "inception_v3", 224, 8, 3)
