-- Views share storage: view/reshape, transpose, permute, t, narrow, select, squeeze/unsqueeze,
-- expand, contiguous, flatten, split/chunk (csrc/tensor.c; bindings in lua_tensor.c).
local cnn = require "cnn"
local H = require "helpers"

local function a234() return cnn.arange(24):view(2, 3, 4) end

describe("views", function()
  it("view and reshape, with one -1", function()
    local a = cnn.arange(6)
    local v = a:view(2, 3)
    assert.are.same({{0, 1, 2}, {3, 4, 5}}, v:totable())
    assert.are.same({3, 2}, a:view({-1, 2}):size())
    assert.are.same({1, 6, 1}, a:view(1, -1, 1):size())
    v:set(2, 1, 30)                                    -- shares storage
    assert.are.equal(30, a[4])
    assert.are.same({6}, cnn.zeros(2, 3):reshape(-1):size())
    assert.are.same({2, 0}, cnn.zeros(0, 4):view(2, 0):size())
    assert.are.same({1}, cnn.tensor(7):view(1):size())
    assert.are.same({}, cnn.tensor({7}):view({}):size())
  end)

  it("view computes strides on non-contiguous inputs when no copy is needed", function()
    local n = a234():narrow(3, 2, 2)                  -- [2,3,2], strides 12,4,1
    local v = n:view(6, 2)
    assert.are.same({4, 1}, v:stride())
    assert.are.same({{1, 2}, {5, 6}, {9, 10}, {13, 14}, {17, 18}, {21, 22}}, v:totable())
    local t = a234():transpose(1, 2)                  -- [3,2,4], strides 4,12,1
    local w = t:view(3, 2, 2, 2)                      -- splitting the last dim is fine
    assert.are.same({4, 12, 2, 1}, w:stride())
    assert.are.same({{{0, 1}, {2, 3}}, {{12, 13}, {14, 15}}}, w[1]:totable())
    local m = cnn.arange(12):view(3, 4):t()           -- [4,3], strides 1,4
    local m3 = m:view(4, 1, 3)
    assert.are.same({4, 1, 3}, m3:size())
    assert.are.same({1, 4}, {m3:stride(1), m3:stride(3)})
    assert.are.same({{2, 6, 10}}, m3[3]:totable())
    H.errors(function() return m:view(12) end,
      "cnn.view: cannot view a non-contiguous tensor of shape [4,3] as [12] (use reshape or contiguous)")
    H.errors(function() return t:view(6, 4) end, "cnn.view: cannot view a non-contiguous tensor of shape [3,2,4] as [6,4]")
    -- reshape copies instead
    assert.are.same({0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, m:reshape(12):totable())
    local e = cnn.tensor({1, 2}):view(2, 1):expand(2, 3)   -- stride 0 dims view fine when kept
    assert.are.same({{1, 1, 1}, {2, 2, 2}}, e:view(2, 1, 3):squeeze(2):totable())
  end)

  it("transpose, permute and t", function()
    local a = a234()
    assert.are.same({4, 2, 3}, a:permute(-1, 1, 2):size())          -- varargs, negative dims
    local p = a:permute({3, 1, 2})
    assert.are.same({4, 2, 3}, p:size())
    assert.are.same({1, 12, 4}, p:stride())
    assert.are.equal(a:get(2, 3, 4), p:get(4, 2, 3))
    local t = a:transpose(1, -1)
    assert.are.same({4, 3, 2}, t:size())
    assert.are.equal(a:get(1, 2, 3), t:get(3, 2, 1))
    local m = cnn.tensor({{1, 2, 3}, {4, 5, 6}})
    assert.are.same({{1, 4}, {2, 5}, {3, 6}}, m:t():totable())
    assert.are.same({{1, 4}, {2, 5}, {3, 6}}, m:t():contiguous():totable())
    assert.is_true(m:t():contiguous():is_contiguous())
  end)

  it("narrow and select", function()
    local a = a234()
    local n = a:narrow(2, 2, 2)
    assert.are.same({2, 2, 4}, n:size())
    assert.are.same({{4, 5, 6, 7}, {8, 9, 10, 11}}, n[1]:totable())
    assert.are.same({2, 0, 4}, a:narrow(2, 4, 0):size())
    local s = a:select(3, -1)
    assert.are.same({{3, 7, 11}, {15, 19, 23}}, s:totable())
    s:fill_(-1)
    assert.are.equal(-1, a:get(2, 3, 4))
  end)

  it("squeeze, unsqueeze and flatten", function()
    local a = cnn.zeros(1, 3, 1, 2)
    assert.are.same({3, 2}, a:squeeze():size())
    assert.are.same({3, 1, 2}, a:squeeze(1):size())
    assert.are.same({1, 3, 1, 2}, a:squeeze(2):size())    -- size 3: unchanged
    assert.are.same({}, cnn.zeros(1, 1):squeeze():size())
    local b = cnn.arange(6):view(2, 3)
    assert.are.same({1, 2, 3}, b:unsqueeze(1):size())
    assert.are.same({2, 3, 1}, b:unsqueeze(-1):size())
    assert.are.same({2, 1, 3}, b:unsqueeze(2):size())
    assert.are.same({{0, 1, 2}}, b:unsqueeze(2)[1]:totable())
    assert.are.same({1}, cnn.tensor(5):unsqueeze(1):size())
    assert.are.same({24}, a234():flatten():size())
    assert.are.same({2, 12}, a234():flatten(2):size())
    assert.are.same({6, 4}, a234():flatten(1, 2):size())
    assert.are.same({1}, cnn.tensor(5):flatten():size())
    local tf = a234():transpose(1, 3):flatten()          -- copies when it must
    assert.are.same({0, 12, 4}, {tf[1], tf[2], tf[3]})
  end)

  it("expand broadcasts size-1 dims without copying", function()
    local a = cnn.tensor({{1}, {2}})
    local e = a:expand(2, 3)
    assert.are.same({{1, 1, 1}, {2, 2, 2}}, e:totable())
    assert.are.same({1, 0}, e:stride())
    assert.are.same({4, 2, 3}, a:expand(4, -1, 3):size())
    assert.are.same({2, 5}, a:expand(cnn.zeros(2, 5)):size())
    a:set(1, 1, 9)
    assert.are.equal(9, e:get(1, 3))
  end)

  it("split and chunk give narrow views", function()
    local a = cnn.arange(7)
    local s = a:split(3)
    assert.are.equal(3, #s)
    assert.are.same({6}, s[3]:totable())
    local s2 = a:split({2, 5})
    assert.are.same({2, 3, 4, 5, 6}, s2[2]:totable())
    local c = a234():chunk(2, 3)
    assert.are.equal(2, #c)
    assert.are.same({2, 3, 2}, c[2]:size())
    assert.are.same({2, 3}, c[2][1][1]:totable())
    local c3 = a:chunk(3)                             -- sizes 3, 3, 1
    assert.are.same({3, 3, 1}, {c3[1]:numel(), c3[2]:numel(), c3[3]:numel()})
    c3[1]:fill_(-1)
    assert.are.equal(-1, a[1])
  end)

  it("do not leak", function()
    H.no_leak(function()
      local a = a234()
      local _ = a:view(6, 4), a:transpose(1, 2):reshape(-1), a:permute({3, 2, 1}), a:narrow(1, 1, 1),
        a:select(2, 1), a:unsqueeze(1):squeeze(), a:flatten(), a:split(1), a:chunk(2, 2),
        a:select(1, 1):expand(5, 3, 4)
    end)
  end)

  it("check their arguments", function()
    local a = a234()
    H.errors(function() return a:view(5, -1) end,
      "cnn.view: shape [5,-1] is invalid for a tensor of shape [2,3,4] (24 elements): the -1 cannot be inferred")
    H.errors(function() return a:view(0, -1) end, "the -1 cannot be inferred")
    H.errors(function() return a:view(-1, -1) end, "cnn.view: only one dimension can be -1, got [-1,-1]")
    H.errors(function() return a:view(5, 5) end, "cnn.view: shape [5,5] is invalid for a tensor of shape [2,3,4] (24 elements)")
    H.errors(function() return a:view(2, -2) end, "cnn.view: argument 2 (shape): size 2 must be >= 0 (or -1), got -2")
    H.errors(function() return a:view("x") end, "cnn.view: argument 1 (shape): expected a shape")
    H.errors(function() return a:view({2 ^ 40, 2 ^ 40, -1}) end, "cnn.view: shape [1099511627776,1099511627776,-1] is too large")
    H.errors(function() return a:reshape(7) end, "cnn.reshape: shape [7] is invalid for a tensor of shape [2,3,4] (24 elements)")
    H.errors(function() return a:transpose(1, 4) end, "cnn.transpose: argument 2 (dim1): dimension 4 is out of range (expected 1..3 or -3..-1)")
    H.errors(function() return a:transpose(0, 1) end, "cnn.transpose: argument 1 (dim0): dimension 0 is out of range")
    H.errors(function() return a:permute({1, 2}) end, "cnn.permute: argument 1 (dims): expected 3 dimensions, got 2")
    H.errors(function() return a:permute({1, 1, 2}) end, "cnn.permute: argument 1 (dims): the dimensions are not a permutation of 1..3")
    H.errors(function() return a:permute({1, 2, 4}) end, "cnn.permute: argument 1 (dims): entry 3: expected a dimension in 1..3 or -3..-1")
    H.errors(function() return a:t() end, "cnn.t: expected a tensor of at most 2 dimensions, got float32 [2,3,4] (use transpose)")
    H.errors(function() return a:narrow(2, 0, 1) end, "cnn.narrow: argument 2 (start): expected 1..4, got 0")
    H.errors(function() return a:narrow(2, 3, 2) end, "cnn.narrow: argument 3 (length): start 3 + length 2 exceeds size 3 of dimension 2")
    H.errors(function() return a:narrow(4, 1, 1) end, "cnn.narrow: argument 1 (dim): dimension 4 is out of range")
    H.errors(function() return a:select(1, 3) end, "cnn.select: argument 2 (index): index 3 is out of range for dimension 1 of size 2")
    H.errors(function() return a:squeeze(4) end, "cnn.squeeze: argument 1 (dim): dimension 4 is out of range")
    H.errors(function() return a:unsqueeze(5) end, "cnn.unsqueeze: argument 1 (dim): dimension 5 is out of range (expected 1..4 or -4..-1)")
    H.errors(function() return cnn.zeros(1, 1, 1, 1, 1, 1, 1, 1):unsqueeze(1) end, "cnn.unsqueeze: a tensor has at most 8 dimensions")
    H.errors(function() return a:expand(2, 5, 4) end, "cnn.expand: cannot expand shape [2,3,4] to [2,5,4]")
    H.errors(function() return a:expand(3, 4) end, "cnn.expand: cannot expand shape [2,3,4] to [3,4] (fewer dimensions)")
    H.errors(function() return a:flatten(3, 2) end, "cnn.flatten: start_dim 3 comes after end_dim 2")
    H.errors(function() return a:split(0) end, "cnn.split: argument 1 (size): expected a size > 0, got 0")
    H.errors(function() return a:split({1, 2}) end, "cnn.split: argument 1 (sizes): the sizes add up to 3, but dimension 1 has size 2")
    -- sizes near the integer limits must not overflow on the way to the message
    H.errors(function() return cnn.zeros(1):expand(2 ^ 40, 2 ^ 40) end,
      "cnn.expand: shape [1099511627776,1099511627776] is too large (the element count overflows)")
    H.errors(function() return a:narrow(1, 2, math.maxinteger) end,
      "cnn.narrow: argument 3 (length): start 2 + length 9223372036854775807 exceeds size 2 of dimension 1")
    H.errors(function() return a:split({math.maxinteger, math.maxinteger}) end,
      "cnn.split: argument 1 (sizes): the sizes add up to more than 2, but dimension 1 has size 2")
    assert.are.equal(1, #a:split(math.maxinteger))
    assert.are.equal(2, #a:chunk(math.maxinteger))
    H.errors(function() return a:chunk(0) end, "cnn.chunk: argument 1 (chunks): expected a number of chunks > 0, got 0")
    H.errors(function() return cnn.tensor(1):split(1) end, "cnn.split: a 0-d tensor cannot be split")
  end)

  it("describe a misplaced tensor as everywhere in messages: dtype and sizes, not 'userdata'", function()
    local t = cnn.zeros(2, 3)
    H.errors(function() return t:view(cnn.ones(2)) end,
      "cnn.view: argument 1 (shape): expected a shape (a table of sizes, or sizes as arguments), got float32 [2]")
    H.errors(function() return t:fill_(cnn.ones(1):double()) end, "cnn.fill_: argument 1 (value): expected a number, got float64 [1]")
    H.errors(function() return cnn.zeros(2, cnn.ones(1)) end,
      "cnn.zeros: argument 2 (options): expected a dtype string or an options table, got float32 [1]")
    H.errors(function() return cnn.F.mse_loss(t, t, t) end, "cnn.mse_loss: argument 3 (options): expected an options table, got float32 [2,3]")
  end)

  it("refuse absurd sizes up front (an expanded view of 2^40 elements owns 4 bytes)", function()
    local e = cnn.zeros(1):expand(2 ^ 40)
    H.errors(function() return e:totable() end,
      "cnn.totable: float32 [1099511627776] has 1099511627776 elements, more than a Lua table should hold (at most 134217728)")
    H.errors(function() return e:split(1) end,
      "cnn.split: argument 1 (size): 1099511627776 pieces of dimension 1 (size 1099511627776) are more than 16777216")
    H.errors(function() return e:chunk(2 ^ 40) end, "cnn.chunk: argument 1 (chunks): 1099511627776 chunks of dimension 1 are more than 16777216")
    assert.are.equal(2, #e:chunk(2))
  end)
end)
