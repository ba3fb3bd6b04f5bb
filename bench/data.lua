-- bench/data.lua: getting data in. PNG decode of a 224x224 RGB image; one shuffled DataLoader
-- pass over Fashion-MNIST train (60,000 samples, batch 64); reading a 2,000 x 50,000 PLINK .bed
-- (with its .bim/.fam). Files are written to a temporary directory first.
local cnn = require "cnn"
local B = require "lib"
local data = require "cnn.data"

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
cnn.manual_seed(1)

-- image: a smooth picture with some noise, as photographs compress
local img = (cnn.image.resize(cnn.rand(3, 8, 8), 224) * 0.9 + cnn.rand(3, 224, 224) * 0.1)
local png = dir .. "/img.png"
cnn.image.save(img, png)
local s = B.time(function() cnn.image.load(png) end, { reps = 7, inner = 20 })
B.result("image", "png_decode_224x224_rgb", s, nil, ("%.0f decodes/s"):format(1 / s))

-- loader
local ok, ds = pcall(data.fashion_mnist, "train")
if ok then
  local loader = data.DataLoader(ds, { batch_size = 64, shuffle = true, seed = 1 })
  s = B.time(function()
    local n = 0
    for b in loader:iter() do n = n + b[2]:numel() end
    assert(n == 60000)
  end, { reps = 3, warm = 1 })
  B.result("loader", "fashion_mnist_train_b64_shuffled", s, nil, ("%.0f samples/s"):format(60000 / s))
  local t0 = B.now()
  data.fashion_mnist("train")
  B.result("loader", "fashion_mnist_read_idx_gz", B.now() - t0, nil, "70,000 x 784 bytes, gzip")
else
  io.stderr:write("bench/data.lua: skipping the loader: ", tostring(ds), "\n")
end

-- genotype: 2,000 samples x 50,000 variants
local N, P = 2000, 50000
local prefix = dir .. "/g"
do
  local block = {}
  for i = 1, 4096 do block[i] = string.char(math.random(0, 255)) end
  local per = (N + 3) // 4
  local body = table.concat(block):rep(per * P // 4096 + 1):sub(1, per * P)
  local f = assert(io.open(prefix .. ".bed", "wb")); f:write("\x6c\x1b\x01", body); f:close()
  local lines = {}
  for i = 1, N do lines[i] = ("f%d s%d 0 0 1 -9"):format(i, i) end
  f = assert(io.open(prefix .. ".fam", "w")); f:write(table.concat(lines, "\n"), "\n"); f:close()
  lines = {}
  for j = 1, P do lines[j] = ("1\trs%d\t0\t%d\tA\tG"):format(j, j * 100) end
  f = assert(io.open(prefix .. ".bim", "w")); f:write(table.concat(lines, "\n"), "\n"); f:close()
end
s = B.time(function() data.genotype.read_bed(prefix); collectgarbage() end, { reps = 3, warm = 1 })
B.result("genotype", "read_bed_2000x50000", s, nil, "float32 dosage, with .bim/.fam")

os.execute("rm -rf " .. dir)
