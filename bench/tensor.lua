-- bench/tensor.lua: the tensor core's throughput. matmul 512/1024/2048 in GFLOP/s (bench/sgemm.c
-- prints raw cblas_sgemm on the same sizes in the same `make bench` run), elementwise add/mul on
-- 1e7 float32 elements in GB/s (bytes read + written), and the per-call overhead of a tiny op
-- (`a + b` on 16 elements). PyTorch twin: bench/tensor_torch.py.
local cnn = require "cnn"
local B = require "lib"

-- Results are closed at once (`<close>`), as PyTorch's reference counts free them: the next call
-- then reuses the same warm memory. One row per group leaves the result to the garbage
-- collector instead, to show what that lag costs (fresh pages for every result).
cnn.manual_seed(0)
for _, n in ipairs({512, 1024, 2048}) do
  local a, b = cnn.randn(n, n), cnn.randn(n, n)
  -- the same repetitions as bench/sgemm.c: small sizes repeat inside each timed run
  local opts = {reps = n >= 2048 and 3 or 5, warm = 2, inner = n == 512 and 20 or n == 1024 and 3 or 1}
  local s = B.time(function() local y <close> = a:matmul(b) end, opts)
  B.result("matmul", "matmul " .. n, s, 2 * n ^ 3)
  local at = cnn.randn(n, n):t()                      -- a transposed view: passed to BLAS as is
  s = B.time(function() local y <close> = at:matmul(b) end, opts)
  B.result("matmul", "matmul " .. n .. " a^T", s, 2 * n ^ 3)
  if n == 512 then
    s = B.time(function() return a:matmul(b) end, opts)
    B.result("matmul", "matmul 512 (freed by GC)", s, 2 * n ^ 3)
  end
end

local n = 10000000
local x, y = cnn.rand(n), cnn.rand(n)
local bytes = 3 * 4 * n                                -- two reads and one write per element
for _, case in ipairs({
  {"add 1e7", function() local z <close> = x + y end},
  {"mul 1e7", function() local z <close> = x * y end},
  {"add_ 1e7 (in place)", function() return x:add_(y) end},
  {"add 1e7 (freed by GC)", function() return x + y end},
}) do
  local s = B.time(case[2], {reps = 7, warm = 2})
  B.result("elementwise", case[1], s, nil, ("%.2f GB/s"):format(bytes / s / 1e9))
end
x, y = nil, nil
collectgarbage()

local a, b = cnn.rand(16), cnn.rand(16)
local inner = 200000
local s = B.time(function() return a + b end, {reps = 7, warm = 1, inner = inner})
B.result("overhead", "a + b, 16 elements", s, nil, ("%.3f us/op"):format(s * 1e6))
s = B.time(function() return a:add_(b) end, {reps = 7, warm = 1, inner = inner})
B.result("overhead", "a:add_(b), 16 elements", s, nil, ("%.3f us/op"):format(s * 1e6))
