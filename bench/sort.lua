-- bench/sort.lua: sorting and gathering (csrc/op_sort.c): a stable sort of 1e6 float32 values,
-- topk(10) of each row of (1000, 1000), sort of those rows, cumsum and gather. RESULT lines as
-- bench/lib.lua; bench/sort_torch.py runs the same cases in PyTorch (bench/compare.sh joins them).
local cnn = require "cnn"
local B = require "lib"

cnn.manual_seed(0)
local v = cnn.rand(1000000)
B.result("sort", "sort 1e6 float32", B.time(function() return v:sort() end, { reps = 5 }))
B.result("sort", "sort 1e6 float32 descending", B.time(function() return v:sort(1, { descending = true }) end, { reps = 5 }))
local m = cnn.randn(1000, 1000)
B.result("sort", "topk(10) of (1000,1000) rows", B.time(function() return m:topk(10) end, { reps = 5 }))
B.result("sort", "sort (1000,1000) rows", B.time(function() return m:sort() end, { reps = 5 }))
B.result("sort", "argsort (1000,1000) columns", B.time(function() return m:argsort(1) end, { reps = 5 }))
B.result("sort", "cumsum (1000,1000) rows", B.time(function() return m:cumsum(2) end, { reps = 5 }))
local idx = cnn.randint(1, 1001, { 1000, 100 }, "int64")
B.result("sort", "gather (1000,100) of (1000,1000)", B.time(function() return m:gather(2, idx) end, { reps = 5 }))
