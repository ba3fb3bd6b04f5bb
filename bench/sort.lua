-- bench/sort.lua: sorting and gathering (csrc/op_sort.c): a stable sort of 1e6 float32 values,
-- topk(10) of each row of (1000, 1000), sort of those rows, cumsum and gather. RESULT lines as
-- bench/lib.lua; bench/sort_torch.py runs the same cases in PyTorch (bench/compare.sh joins them).
-- Results are closed at once (`<close>`), as PyTorch's reference counts free them.
local cnn = require "cnn"
local B = require "lib"

-- closes the results of one call
local function close(a, b)
  local x <close> = a
  local y <close> = b
end

cnn.manual_seed(0)
local v = cnn.rand(1000000)
local m = cnn.randn(1000, 1000)
local idx = cnn.randint(1, 1001, { 1000, 100 }, "int64")
local cases = {
  { "sort 1e6 float32", function() close(v:sort()) end },
  { "sort 1e6 float32 descending", function() close(v:sort(1, { descending = true })) end },
  { "topk(10) of (1000,1000) rows", function() close(m:topk(10)) end },
  { "sort (1000,1000) rows", function() close(m:sort()) end },
  { "argsort (1000,1000) columns", function() close(m:argsort(1)) end },
  { "cumsum (1000,1000) rows", function() close(m:cumsum(2)) end },
  { "gather (1000,100) of (1000,1000)", function() close(m:gather(2, idx)) end },
}
for _, c in ipairs(cases) do B.result("sort", c[1], B.time(c[2], { reps = 7 })) end
