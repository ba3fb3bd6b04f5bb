-- examples/fashion_mnist.lua on a subset of Debian's Fashion-MNIST: it runs, writes its outputs,
-- and --resume continues bit for bit (2 epochs straight = 1 epoch + resume + 1 epoch).
local cnn = require "cnn"
local H = require "helpers"

local function run(args)
  local log = os.tmpname()
  local ok = os.execute(("bin/cnn examples/fashion_mnist.lua --threads 1 --subset 192 --batch-size 32 %s > %q 2>&1"):format(args, log))
  local f = io.open(log)
  local out = f:read("a")
  f:close()
  os.remove(log)
  assert(ok, "the example failed:\n" .. out)
  return out
end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute(("mkdir -p %q"):format(d)))
  return d
end

-- every tensor of two checkpoints (model, optimizer state) equal to the bit; plain values equal
local function same(a, b, path)
  if cnn.is_tensor(a) then
    assert(cnn.is_tensor(b), path .. ": a tensor on one side only")
    assert.are.same(a:size(), b:size(), path)
    assert(H.maxdiff(a, b) == 0, ("%s: tensors differ by %g"):format(path, H.maxdiff(a, b)))
  elseif type(a) == "table" then
    assert(type(b) == "table", path .. ": a table on one side only")
    for k, v in pairs(a) do same(v, b[k], path .. "." .. tostring(k)) end
    for k in pairs(b) do assert(a[k] ~= nil, path .. "." .. tostring(k) .. ": only in the second") end
  elseif path:match("%.seconds%.") then
    return                                           -- wall-clock times are the one difference
  else
    assert.are.equal(a, b, path)
  end
end

describe("examples/fashion_mnist.lua", function()
  it("trains on a subset, writes its outputs, and resumes bit for bit", function()
    local straight, split = tmpdir(), tmpdir()
    local out = run(("--epochs 2 --out %q"):format(straight))
    assert.truthy(out:find("epoch 2: train loss", 1, true), out)
    assert.truthy(out:find("confusion matrix", 1, true), out)
    for _, name in ipairs({ "checkpoint.safetensors", "curves.svg", "confusion.svg", "misclassified.png", "misclassified.txt" }) do
      local f = io.open(straight .. "/" .. name)
      assert(f, name .. " was not written")
      f:close()
    end
    local grid = cnn.image.load(straight .. "/misclassified.png")
    assert.are.equal(1, grid:size(1))
    local legend = io.open(straight .. "/misclassified.txt"):read("a")
    assert.truthy(legend:find("^# position"), legend)

    run(("--epochs 1 --out %q"):format(split))
    local resumed = run(("--epochs 2 --resume %q"):format(split))        -- writes back into that folder
    assert.truthy(resumed:find("resumed from .* after epoch 1"), resumed)
    local a = cnn.load(straight .. "/checkpoint.safetensors")
    local b = cnn.load(split .. "/checkpoint.safetensors")
    assert.are.equal(2, a.epoch)
    same(a, b, "checkpoint")
    os.execute(("rm -rf %q %q"):format(straight, split))
  end)

  it("rejects a bad command line with the usage", function()
    local ok = os.execute("bin/cnn examples/fashion_mnist.lua --epochs x >/dev/null 2>&1")
    assert.is_not_true(ok)
    local p = io.popen("bin/cnn examples/fashion_mnist.lua --help")
    local help = p:read("a")
    p:close()
    assert.truthy(help:find("--resume", 1, true), help)
    assert.truthy(help:find("--threads", 1, true), help)
  end)
end)
