-- matmul: 1-D, 2-D, batched and broadcast operands through cblas_?gemm, with strides passed to
-- BLAS as transpose flags (csrc/op_matmul.c, op_matmul.inc; binding in lua_ops.c).
local cnn = require "cnn"
local H = require "helpers"

local A = cnn.tensor({{1, 2, 3}, {4, 5, 6}})          -- [2,3]
local B = cnn.tensor({{1, 0}, {0, 1}, {2, -1}})       -- [3,2]
local AB = {{7, -1}, {16, -1}}                         -- by hand

-- reference product through elementwise ops only: sum over k of a[..,i,k,1] * b[..,1,k,j]
local function ref(a, b)
  return (a:unsqueeze(-1) * b:unsqueeze(-3)):sum(-2)
end

describe("matmul", function()
  it("multiplies matrices, vectors and mixed forms", function()
    assert.are.same(AB, A:matmul(B):totable())
    assert.are.same(AB, cnn.matmul(A, B):totable())
    assert.are.same({14, 32}, A:matmul(cnn.tensor({1, 2, 3})):totable())        -- matrix-vector
    assert.are.same({9, 12, 15}, cnn.tensor({1, 2}):matmul(A):totable())        -- vector-matrix
    local d = cnn.tensor({1, 2, 3}):matmul(cnn.tensor({4, 5, 6}))              -- dot product
    assert.are.equal(0, d:dim())
    assert.are.equal(32, d:item())
  end)

  it("honours transposed and strided operands without changing results", function()
    local At = cnn.tensor({{1, 4}, {2, 5}, {3, 6}}):t()   -- a transposed view, equal to A
    local Bt = cnn.tensor({{1, 0, 2}, {0, 1, -1}}):t()
    assert.is_false(At:is_contiguous())
    assert.are.same(AB, At:matmul(B):totable())
    assert.are.same(AB, A:matmul(Bt):totable())
    assert.are.same(AB, At:matmul(Bt):totable())
    local big = cnn.arange(40):view(5, 8)
    local s = big:narrow(1, 2, 2):narrow(2, 3, 3)         -- rows with a leading dimension of 8
    assert.are.same({{10, 11, 12}, {18, 19, 20}}, s:totable())
    H.close(s:matmul(B), ref(s, B), 0)
    local every2 = cnn.arange(12):view(2, 6):view(2, 3, 2):select(3, 1)   -- stride 2 in the last dim: copied
    H.close(every2:matmul(B), ref(every2, B), 0)
    local ones = cnn.ones(1, 3):expand(2, 3)               -- stride 0 rows
    assert.are.same({{3, 0}, {3, 0}}, ones:matmul(B):totable())
  end)

  it("passes transposed operands to BLAS without copying them", function()
    local a, b = cnn.zeros(64, 32):t(), cnn.zeros(64, 16)       -- a^T b, both as stored
    collectgarbage(); collectgarbage()
    cnn.reset_peak_memory()
    local live = cnn.memory()
    local y = a:matmul(b)
    local _, peak = cnn.memory()
    assert.are.equal(32 * 16 * 4, peak - live)                  -- only the result was allocated
    assert.are.same({32, 16}, y:size())
    local a2, bt = cnn.zeros(5, 64), cnn.zeros(3, 64)
    cnn.reset_peak_memory()
    live = cnn.memory()
    local z = a2:matmul(bt:t())
    _, peak = cnn.memory()
    assert.are.equal(5 * 3 * 4, peak - live)
    assert.are.same({5, 3}, z:size())
  end)

  it("batches 3-D operands and broadcasts batch dims", function()
    cnn.manual_seed(1)
    local a, b = cnn.randn({4, 2, 3}, "float64"), cnn.randn({4, 3, 5}, "float64")
    local y = a:matmul(b)
    assert.are.same({4, 2, 5}, y:size())
    H.close(y, ref(a, b), 1e-12)
    H.close(y[3], a[3]:matmul(b[3]), 0)
    local w = cnn.randn({3, 5}, "float64")
    H.close(a:matmul(w), ref(a, w), 1e-12)                   -- one shared matrix
    H.close(a:transpose(2, 3):transpose(2, 3):matmul(w), ref(a, w), 1e-12)
    local at = cnn.randn({4, 3, 2}, "float64"):transpose(2, 3)   -- batched transposed views
    H.close(at:matmul(b), ref(at, b), 1e-12)
    local p = cnn.randn({3, 4, 2}, "float64"):permute({2, 3, 1})  -- batch dim not outermost in memory
    H.close(p:matmul(b), ref(p, b), 1e-12)
    local c, e = cnn.randn({2, 1, 2, 3}, "float64"), cnn.randn({4, 3, 2}, "float64")
    local r = c:matmul(e)
    assert.are.same({2, 4, 2, 2}, r:size())
    H.close(r, ref(c, e), 1e-12)
    local v = cnn.randn({3}, "float64")
    H.close(a:matmul(v), ref(a, v:view(3, 1)):squeeze(-1), 1e-12)
    H.close(v:matmul(b), ref(v:view(1, 3), b):squeeze(-2), 1e-12)
    local ex = cnn.randn({1, 3, 5}, "float64"):expand(4, 3, 5)     -- expanded batch (stride 0)
    H.close(a:matmul(ex), ref(a, ex), 1e-12)
  end)

  it("handles empty operands and K = 0", function()
    assert.are.same({{0, 0, 0}, {0, 0, 0}}, cnn.zeros(2, 0):matmul(cnn.zeros(0, 3)):totable())
    assert.are.same({0, 3}, cnn.zeros(0, 4):matmul(cnn.zeros(4, 3)):size())
    assert.are.same({2, 0}, cnn.zeros(2, 4):matmul(cnn.zeros(4, 0)):size())
    assert.are.same({0, 2, 2}, cnn.zeros(0, 2, 3):matmul(cnn.zeros(3, 2)):size())
    assert.are.equal(0, cnn.zeros(0):matmul(cnn.zeros(0)):item())
    local y = cnn.full({2, 3, 0}, 1):matmul(cnn.full({2, 0, 4}, 1))
    assert.are.equal(0, y:abs():sum():item())
  end)

  it("promotes mixed dtypes and float32 agrees with float64", function()
    assert.are.equal("float64", A:matmul(B:double()):dtype())
    cnn.manual_seed(2)
    local a, b = cnn.randn({3, 7, 9}, "float64"), cnn.randn({9, 4}, "float64")
    H.close(a:float():matmul(b:float()), a:matmul(b), 1e-5)
  end)

  it("checks shapes and arguments", function()
    H.errors(function() return cnn.matmul(cnn.zeros(2, 3), cnn.zeros(4, 5)) end,
      "cnn.matmul: shapes [2,3] and [4,5] cannot be multiplied")
    H.errors(function() return cnn.zeros(3):matmul(cnn.zeros(4)) end, "cnn.matmul: shapes [3] and [4] cannot be multiplied")
    H.errors(function() return cnn.zeros(3):matmul(cnn.zeros(4, 2)) end, "cnn.matmul: shapes [3] and [4,2] cannot be multiplied")
    H.errors(function() return cnn.zeros(2, 3):matmul(cnn.zeros(2)) end, "cnn.matmul: shapes [2,3] and [2] cannot be multiplied")
    H.errors(function() return cnn.zeros(2, 2, 3):matmul(cnn.zeros(3, 3, 1)) end,
      "cnn.matmul: shapes [2] and [3] cannot be broadcast together")
    H.errors(function() return cnn.tensor(1):matmul(cnn.zeros(2)) end,
      "cnn.matmul: both arguments must be at least 1-D, got float32 [] and float32 [2]")
    H.errors(function() return A:matmul("x") end, "cnn.matmul: argument 1 (other): expected a tensor, got string")
    H.errors(function() return cnn.matmul(nil, A) end, "cnn.matmul: argument 1 (input): expected a tensor, got nil")
  end)

  it("does not leak", function()
    H.no_leak(function()
      local _ = A:matmul(B), A:t():matmul(A), cnn.rand(2, 3, 4):matmul(cnn.rand(4)), cnn.rand(4):matmul(cnn.rand(4, 2))
      pcall(cnn.matmul, A, A)
    end)
  end)
end)
