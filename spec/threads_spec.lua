-- cnn.set_num_threads / get_num_threads: the default is the machine's cores; the count governs
-- OpenBLAS (and the library's own threaded kernels) and never changes results beyond rounding.
local cnn = require "cnn"
local H = require "helpers"

local function cores()
  local p = io.popen("nproc")
  local n = tonumber(p:read("l"))
  p:close()
  return n
end

describe("threads", function()
  local saved
  before_each(function() saved = cnn.get_num_threads() end)
  after_each(function() cnn.set_num_threads(saved) end)

  it("default to the machine's cores in a fresh state", function()
    local p = io.popen([[bin/cnn -e 'io.write(require("cnn").get_num_threads())']])
    local n = tonumber(p:read("a"))
    p:close()
    assert.are.equal(cores(), n)
  end)

  it("round-trip and check their argument", function()
    cnn.set_num_threads(1)
    assert.are.equal(1, cnn.get_num_threads())
    cnn.set_num_threads(2)
    assert.are.equal(2, cnn.get_num_threads())
    H.errors(function() cnn.set_num_threads(0) end, "cnn.set_num_threads: argument 1 (n): expected 1..1024, got 0")
    H.errors(function() cnn.set_num_threads("x") end, "cnn.set_num_threads: argument 1 (n)")
  end)

  it("split long element-wise rows without changing a value (both threads, in place too)", function()
    cnn.set_num_threads(2)
    local n = 300001                                  -- above the threading threshold, odd length
    local a = cnn.arange(n, "float64")                -- 0 .. n-1
    local y = a * 2 + 1                               -- a row against a scalar, split in chunks
    assert.are.equal(1, y[1]); assert.are.equal(2 * n - 1, y[n])
    assert.are.equal(n * n, y:sum():item())           -- sum of the first n odd numbers
    local b = cnn.ones(n, "float64")
    b:add_(a)                                         -- in place, contiguous against contiguous
    assert.are.equal(n * (n + 1) / 2, b:sum():item())
    cnn.set_num_threads(1)
    assert.are.equal(0, H.maxdiff(a * 2 + 1, y))
  end)

  it("give the same results at 1 and 2 threads (matmul, conv2d, a training step)", function()
    cnn.manual_seed(4)
    local a, b = cnn.randn(300, 200), cnn.randn(200, 250)
    local x, w = cnn.randn(8, 16, 20, 20), cnn.randn(32, 16, 3, 3)
    local function run()
      cnn.manual_seed(9)
      local m = cnn.nn.Sequential{ cnn.nn.Conv2d(16, 8, 3, { padding = 1 }), cnn.nn.ReLU(), cnn.nn.Flatten(), cnn.nn.Linear(8 * 400, 3) }
      local loss = cnn.F.cross_entropy(m(x), cnn.tensor({ 1, 2, 3, 1, 2, 3, 1, 2 }))
      loss:backward()
      return a:matmul(b), cnn.F.conv2d(x, w, nil, { padding = 1 }), m[1].weight.grad
    end
    cnn.set_num_threads(1)
    local r1 = { run() }
    cnn.set_num_threads(2)
    local r2 = { run() }
    -- rounding differs across thread counts (OpenBLAS splits sums differently on some CPUs):
    -- relative to the largest value, float32's epsilon times a few
    for i = 1, 3 do H.close(r1[i], r2[i], 1e-6 * r1[i]:abs():max():item()) end
  end)
  it("train a small resnet bit-identically run to run at 2 threads (shared slices, Winograd blocks, batch norm, SGD)", function()
    local was = cnn.get_num_threads()
    finally(function() cnn.set_num_threads(was) end)
    cnn.set_num_threads(2)
    local function run()
      cnn.manual_seed(11)
      local m = cnn.models.resnet18({ width = 0.25, num_classes = 5 })
      local opt = cnn.optim.SGD(m, { lr = 0.05, momentum = 0.9 })
      local x, y = cnn.randn(3, 3, 64, 64), cnn.tensor({ 1, 4, 2 }):long()
      for _ = 1, 2 do
        local loss = cnn.F.cross_entropy(m(x), y)
        opt:zero_grad()
        loss:backward()
        opt:step()
      end
      m:eval()
      local out = cnn.no_grad(function() return m(cnn.randn(1, 3, 64, 64)) end)
      local ps = {}
      for _, p in ipairs(m:parameters()) do ps[#ps + 1] = p:detach() end
      return ps, out
    end
    local p1, o1 = run()
    local p2, o2 = run()
    for i = 1, #p1 do assert.are.equal(0, H.maxdiff(p1[i], p2[i])) end
    assert.are.equal(0, H.maxdiff(o1, o2))
  end)
end)
