-- cat, stack and index_select (csrc/op_index.c; bindings in lua_ops.c).
local cnn = require "cnn"
local H = require "helpers"

local T = cnn.tensor

describe("cat and stack", function()
  it("cat joins along a dimension", function()
    local a, b = T({{1, 2}, {3, 4}}), T({{5, 6}})
    assert.are.same({{1, 2}, {3, 4}, {5, 6}}, cnn.cat({a, b}):totable())
    assert.are.same({{1, 2}, {3, 4}, {5, 6}}, cnn.cat({a, b}, 1):totable())
    assert.are.same({{1, 2, 1}, {3, 4, 3}}, cnn.cat({a, a:narrow(2, 1, 1)}, 2):totable())
    assert.are.same({{1, 2, 1, 3}, {3, 4, 2, 4}}, cnn.cat({a, a:t()}, -1):totable())   -- strided input
    assert.are.same({1, 2, 3}, cnn.cat({T({1, 2}), cnn.zeros(0), T({3})}):totable())
    local m = cnn.cat({T({1}), T({0.5}, "float64")})
    assert.are.equal("float64", m:dtype())
    assert.are.same({1, 0.5}, m:totable())
    local c = cnn.cat({a})
    a:fill_(0)
    assert.are.same({{1, 2}, {3, 4}}, c:totable())                                     -- a copy
  end)

  it("stack adds a new dimension", function()
    local a, b = T({1, 2}), T({3, 4})
    assert.are.same({{1, 2}, {3, 4}}, cnn.stack({a, b}):totable())
    assert.are.same({{1, 3}, {2, 4}}, cnn.stack({a, b}, 2):totable())
    assert.are.same({{1, 3}, {2, 4}}, cnn.stack({a, b}, -1):totable())
    assert.are.same({3, 1, 2}, cnn.stack({a:view(1, 2), b:view(1, 2), a:view(1, 2)}):size())
    assert.are.same({2}, cnn.stack({cnn.tensor(1), cnn.tensor(2)}):size())
  end)

  it("check their arguments", function()
    H.errors(function() return cnn.cat(T({1})) end, "cnn.cat: argument 1 (tensors): expected a table of tensors, got a tensor")
    H.errors(function() return cnn.cat({}) end, "cnn.cat: argument 1 (tensors): expected a non-empty table of tensors")
    H.errors(function() return cnn.cat({T({1}), 2}) end, "cnn.cat: argument 1 (tensors): element 2 is number, not a tensor")
    H.errors(function() return cnn.cat({T({1}), T({{1}})}) end,
      "cnn.cat: tensor 2 has shape [1,1], which does not match [1] except in dimension 1")
    H.errors(function() return cnn.cat({cnn.zeros(2, 3), cnn.zeros(3, 2)}, 2) end,
      "cnn.cat: tensor 2 has shape [3,2], which does not match [2,3] except in dimension 2")
    H.errors(function() return cnn.cat({T({1})}, 2) end, "cnn.cat: argument 2 (dim): dimension 2 is out of range (expected 1..1 or -1..-1)")
    H.errors(function() return cnn.cat({cnn.tensor(1)}) end, "cnn.cat: dimension 1 is out of range for tensors of 0 dimensions")
    H.errors(function() return cnn.stack({T({1}), T({1, 2})}) end,
      "cnn.stack: tensor 2 has shape [2] but tensor 1 has [1]: stacked tensors must have equal shapes")
    H.errors(function() return cnn.stack({T({1})}, 3) end, "cnn.stack: argument 2 (dim): dimension 3 is out of range (expected 1..2 or -2..-1)")
    H.errors(function() return cnn.stack("x") end, "cnn.stack: argument 1 (tensors): expected a table of tensors, got string")
  end)
end)

describe("index_select", function()
  it("picks slices by 1-based indices from a table or a tensor, repeats allowed", function()
    local a = cnn.arange(12):view(3, 4)
    assert.are.same({{8, 9, 10, 11}, {0, 1, 2, 3}}, a:index_select(1, {3, 1}):totable())
    assert.are.same({{1, 1, 0}, {5, 5, 4}, {9, 9, 8}}, a:index_select(2, T({2, 2, 1})):totable())
    assert.are.same({{3}, {7}, {11}}, cnn.index_select(a, -1, T({4}, "float64")):totable())
    assert.are.same({3, 0}, a:index_select(2, {}):size())
    local r = a:t():index_select(1, {4, 1})                                -- strided input
    assert.are.same({{3, 7, 11}, {0, 4, 8}}, r:totable())
  end)

  it("checks its arguments", function()
    local a = cnn.zeros(3, 4)
    H.errors(function() return a:index_select(1, {4}) end,
      "cnn.index_select: index 4 (position 1) is out of range for dimension 1 of size 3")
    H.errors(function() return a:index_select(2, {1, 0}) end,
      "cnn.index_select: index 0 (position 2) is out of range for dimension 2 of size 4")
    H.errors(function() return a:index_select(1, {1.5}) end, "cnn.index_select: argument 2 (index): element 1 is not an integer")
    H.errors(function() return a:index_select(1, T({1.5})) end,
      "cnn.index_select: argument 2 (index): index 1.5 (position 1) is not an integer")
    H.errors(function() return a:index_select(1, T({{1}})) end,
      "cnn.index_select: argument 2 (index): expected a 1-D tensor of indices, got float32 [1,1]")
    H.errors(function() return a:index_select(1, T({1e30})) end,
      "cnn.index_select: argument 2 (index): index 1e+30 (position 1) is out of range for dimension 1 of size 3")
    H.errors(function() return a:index_select(1, "x") end,
      "cnn.index_select: argument 2 (index): expected a tensor or a table of indices, got string")
    H.errors(function() return a:index_select(3, {1}) end, "cnn.index_select: argument 1 (dim): dimension 3 is out of range")
  end)

  it("float32 agrees with float64 and nothing leaks", function()
    cnn.manual_seed(8)
    local x = cnn.randn({4, 3}, "float64")
    local f = function(t) return cnn.cat({t:index_select(1, {4, 2}), cnn.stack({t[1], t[3]})}, 1) end
    H.close(f(x:float()), f(x), 1e-6)
    H.no_leak(function()
      local _ = f(x), cnn.stack({x, x}, 3)
      pcall(cnn.cat, {x, cnn.zeros(2)})
      pcall(function() return x:index_select(1, {9}) end)
    end)
  end)
end)
