-- Reductions: sum, mean, var, std, max, min, argmax, argmin over all elements or one dimension,
-- with keepdim (csrc/op_reduce.c, op_reduce.inc; bindings in lua_ops.c).
local cnn = require "cnn"
local H = require "helpers"

local function m() return cnn.tensor({{1, 5, 2}, {7, 0, 7}}) end

describe("reductions", function()
  it("sums a big tensor in chunks on the threads, to the same value at any thread count", function()
    local x = cnn.randn({300001})
    local n0 = cnn.get_num_threads()
    cnn.set_num_threads(1)
    local s1 = x:sum():item()
    cnn.set_num_threads(2)
    local s2 = x:sum():item()
    cnn.set_num_threads(n0)
    assert.are.equal(s1, s2)
    assert(math.abs(s1 - x:double():sum():item()) < 1e-3)
  end)

  it("sum and mean over all give 0-d tensors", function()
    local s = m():sum()
    assert.are.equal(0, s:dim())
    assert.are.equal(22, s:item())
    assert.are.equal(22 / 6, m():double():mean():item())
    assert.are.equal(0, cnn.zeros(0):sum():item())
    assert.is_true(cnn.zeros(0):mean():item() ~= cnn.zeros(0):mean():item())    -- NaN, as PyTorch
    assert.are.equal(22, cnn.sum(m()):item())
  end)

  it("sum and mean over a dim, with keepdim and negative dims", function()
    assert.are.same({8, 5, 9}, m():sum(1):totable())
    assert.are.same({8, 14}, m():sum(2):totable())
    assert.are.same({{8}, {14}}, m():sum(-1, true):totable())
    assert.are.same({{4, 2.5, 4.5}}, m():mean(1, true):totable())
    local a = cnn.arange(24):view(2, 3, 4)
    assert.are.same({{12, 15, 18, 21}, {48, 51, 54, 57}}, a:sum(2):totable())
    assert.are.same({{6, 22, 38}, {54, 70, 86}}, a:transpose(2, 3):sum(2):totable())   -- strided input
    assert.are.same({3, 1}, cnn.zeros(3, 0):sum(2, true):size())
    assert.are.same({0, 0, 0}, cnn.zeros(3, 0):sum(2):totable())
  end)

  it("sum and mean over a list of dims, as PyTorch's dim=(..)", function()
    local a = cnn.arange(24):view(2, 3, 4)            -- a[i][j][k] = 12(i-1) + 4(j-1) + (k-1)
    assert.are.same({66, 210}, a:sum({2, 3}):totable())
    assert.are.same({{{7.5}, {11.5}, {15.5}}}, a:mean({3, -3}, true):totable())
    assert.are.same({{66}, {210}}, a:sum({3, 2}, true):view(2, 1):totable())
    H.errors(function() cnn.sum(a, {2, 2}) end, "cnn.sum: argument 2 (dim): dimension 2 appears twice")
    H.errors(function() cnn.mean(a, {}) end, "cnn.mean: argument 2 (dim): expected a non-empty list of dimensions, got an empty table")
    H.errors(function() cnn.sum(a, {4}) end, "cnn.sum: argument 2 (dim): entry 1: expected a dimension in 1..3 or -3..-1")
    local x = cnn.randn({2, 3, 4}, { dtype = "float64", requires_grad = true })
    H.gradcheck(function(t) return t:mean({1, 3}) end, { x })
  end)

  it("float32 sums are accumulated in double", function()
    local x = cnn.full({1000001}, 0.1)
    local want = 1000001 * cnn.tensor({0.1}):double()[1]
    assert(math.abs(x:sum():item() - want) < 1e-3)
  end)

  it("var and std are unbiased by default", function()
    local x = cnn.tensor({1, 2, 3, 4}, "float64")
    H.close(x:var(), cnn.tensor(5 / 3, "float64"), 1e-15)
    assert.are.equal(1.25, x:var(nil, false, false):item())
    H.close(x:std(), cnn.tensor(math.sqrt(5 / 3), "float64"), 1e-15)
    assert.are.same({2, 4.5}, cnn.tensor({{1, 2}, {3, 5}}):var(1):totable())
    assert.are.same({{0.5}, {2}}, cnn.tensor({{1, 2}, {3, 5}}):var(2, true):totable())
    H.close(cnn.tensor({{1, 2}, {3, 5}}, "float64"):std(1), {math.sqrt(2), math.sqrt(4.5)}, 1e-15)
    assert.is_true(cnn.tensor({3}):var():item() ~= cnn.tensor({3}):var():item())   -- n-1 = 0: NaN
    assert.are.equal(0, cnn.tensor({3}):var(1, false, false):item())
  end)

  it("max and min over all, and over a dim with 1-based indices", function()
    assert.are.equal(7, m():max():item())
    assert.are.equal(0, m():min():item())
    local v, i = m():max(2)
    assert.are.same({5, 7}, v:totable())
    assert.are.same({2, 1}, i:totable())               -- first index on ties
    v, i = m():min(1, true)
    assert.are.same({{1, 0, 2}}, v:totable())
    assert.are.same({{1, 2, 1}}, i:totable())
    v, i = cnn.max(m(), -2)
    assert.are.same({7, 5, 7}, v:totable())
    assert.are.same({2, 1, 2}, i:totable())
    local n = cnn.tensor({1, 0 / 0, 3}):max():item()
    assert.is_true(n ~= n)                              -- NaN wins, as PyTorch
  end)

  it("argmax and argmin", function()
    assert.are.equal(4, m():argmax():item())            -- flat, 1-based, first of ties
    assert.are.equal(5, m():argmin():item())
    assert.are.same({2, 1}, m():argmax(2):totable())
    assert.are.same({{1}, {2}}, m():argmin(2, true):totable())
    assert.are.same({2, 1, 2}, cnn.argmax(m(), 1):totable())
  end)

  it("float32 agrees with float64", function()
    cnn.manual_seed(4)
    local x = cnn.randn({5, 6}, "float64")
    for _, f in ipairs({"sum", "mean", "var", "std", "max", "min"}) do
      H.close(x:float()[f](x:float(), 2), x[f](x, 2), 1e-5)
      H.close(x:float()[f](x:float()), x[f](x), 1e-5)
    end
  end)

  it("check their arguments", function()
    local a = cnn.zeros(2, 3)
    H.errors(function() return a:sum(3) end, "cnn.sum: argument 1 (dim): dimension 3 is out of range (expected 1..2 or -2..-1)")
    H.errors(function() return cnn.mean(a, 0) end, "cnn.mean: argument 2 (dim): dimension 0 is out of range")
    H.errors(function() return a:max("x") end, "cnn.max: argument 1 (dim): expected an integer, got string")
    H.errors(function() return a:min(1.5) end, "cnn.min: argument 1 (dim): expected an integer, got 1.5")
    H.errors(function() return a:var(-3) end, "cnn.var: argument 1 (dim): dimension -3 is out of range")
    H.errors(function() return a:std(5) end, "cnn.std: argument 1 (dim): dimension 5 is out of range")
    H.errors(function() return a:argmax(3) end, "cnn.argmax: argument 1 (dim): dimension 3 is out of range")
    H.errors(function() return cnn.zeros(0):max() end, "cnn.max: max of an empty tensor (or dimension) is undefined")
    H.errors(function() return cnn.zeros(2, 0):min(2) end, "cnn.min: min of an empty tensor (or dimension) is undefined")
    H.errors(function() return cnn.zeros(0):argmin() end, "cnn.argmin: argmin of an empty tensor (or dimension) is undefined")
    H.errors(function() return cnn.sum({}) end, "cnn.sum: argument 1 (input): expected a tensor, got table")
    H.errors(function() return cnn.tensor(1):sum(1) end, "cnn.sum: argument 1 (dim): a 0-d tensor has no dimension 1")
  end)

  it("do not leak", function()
    H.no_leak(function()
      local a = cnn.rand(3, 4)
      local _ = a:sum(), a:mean(1), a:var(2, true), a:std(), a:argmax(), a:argmin(1)
      local v, i = a:max(2)
      v, i = a:min(1, true)
      pcall(function() return a:sum(9) end)
    end)
  end)
end)
