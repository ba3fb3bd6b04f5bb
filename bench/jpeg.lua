-- bench/jpeg.lua: a 3,000 x 2,000 JPEG photograph to a 224x224 float32 training input, the AMD
-- pipeline's first step: load + square centre crop + antialiased resize to 224, with a full
-- decode and with max_side = 336 (libjpeg's scaled IDCT at 1/8: 375 x 250). Twin:
-- bench/jpeg_torch.py (Pillow, with and without draft, + torchvision transforms), which reads
-- the same file (build/bench/photo_3000x2000.jpg, written here once).
local cnn = require "cnn"
local B = require "lib"

local path = "build/bench/photo_3000x2000.jpg"
if not io.open(path, "rb") then
  os.execute("mkdir -p build/bench")
  cnn.manual_seed(1)
  -- photograph-like: smooth colour fields (an upsampled 12x18 picture) plus fine grain
  local img = cnn.image.resize(cnn.rand(3, 12, 18), { 2000, 3000 }) * 0.85 + cnn.rand(3, 2000, 3000) * 0.15
  cnn.image.save(img, path, { quality = 90 })
  img = nil
  collectgarbage()
end

local function prep(opts)
  local t = cnn.image.load(path, opts)
  return cnn.image.resize(cnn.image.square_crop(t), 224)
end
assert(prep()[1]:numel() == 224 * 224)

local s = B.time(function() prep(); collectgarbage() end, { reps = 5, warm = 1 })
B.result("jpeg", "3000x2000 jpeg -> 224x224 float, full decode", s, nil, ("%.1f images/s"):format(1 / s))
s = B.time(function() prep({ max_side = 336 }); collectgarbage() end, { reps = 7, warm = 2, inner = 5 })
B.result("jpeg", "3000x2000 jpeg -> 224x224 float, max_side 336 / draft", s, nil, ("%.1f images/s"):format(1 / s))
s = B.time(function() cnn.image.load(path); collectgarbage() end, { reps = 5, warm = 1 })
B.result("jpeg", "3000x2000 jpeg decode only, full", s, nil, ("%.1f images/s"):format(1 / s))
