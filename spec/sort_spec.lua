-- Sorting and gathering (issue 17): sort, argsort, topk, gather, scatter_add(_), cumsum, cumprod,
-- flip, roll, unique, nonzero, searchsorted (csrc/op_sort.c, csrc/lua_sort.c). Values against
-- hand-computed numbers, float64 gradchecks, int64 inputs, views, hostile arguments, a short fuzz
-- (run under ASan with make test-asan). PyTorch parity: spec/parity/sort_parity_spec.lua.
local cnn = require "cnn"
local H = require "helpers"

local NAN = 0 / 0
local function is_nan(v) return v ~= v end
local function f64(t) return cnn.tensor(t, "float64") end
local function i64(t) return cnn.tensor(t, "int64") end

describe("sort and argsort", function()
  it("sort ascending and descending, stable, NaN largest, 1-based int64 indices", function()
    local x = cnn.tensor({3, 1, 2, 1, NAN, -5})
    local v, i = x:sort()
    local vt = v:totable()
    assert.are.same({-5, 1, 1, 2, 3}, {vt[1], vt[2], vt[3], vt[4], vt[5]})
    assert.is_true(is_nan(vt[6]))
    assert.are.equal("int64", i:dtype())
    assert.are.same({6, 2, 4, 3, 1, 5}, i:totable())            -- the two 1s keep their order
    v, i = x:sort({descending = true})
    vt = v:totable()
    assert.is_true(is_nan(vt[1]))
    assert.are.same({3, 2, 1, 1, -5}, {vt[2], vt[3], vt[4], vt[5], vt[6]})
    assert.are.same({5, 1, 3, 2, 4, 6}, i:totable())            -- stable for descending too
    assert.are.same({6, 2, 4, 3, 1, 5}, x:argsort():totable())
    assert.are.same({5, 1, 3, 2, 4, 6}, cnn.argsort(x, 1, {descending = true}):totable())
    assert.are.same({5, 1, 3, 2, 4, 6}, x:argsort({descending = true, stable = true}):totable())
  end)

  it("sorts along any dim of a matrix, and views", function()
    local m = cnn.tensor({{3, 1, 2}, {0, 5, 4}})
    local v, i = m:sort(1)
    assert.are.same({{0, 1, 2}, {3, 5, 4}}, v:totable())
    assert.are.same({{2, 1, 1}, {1, 2, 2}}, i:totable())
    v, i = cnn.sort(m, -1, {descending = true})
    assert.are.same({{3, 2, 1}, {5, 4, 0}}, v:totable())
    assert.are.same({{1, 3, 2}, {2, 3, 1}}, i:totable())
    v, i = m:t():sort(2)                                          -- a transposed view
    assert.are.same({{0, 3}, {1, 5}, {2, 4}}, v:totable())
    assert.are.same({{2, 1}, {1, 2}, {1, 2}}, i:totable())
    v = m:select(2, 2):sort()                                     -- a strided 1-D view: {1, 5}
    assert.are.same({1, 5}, v:totable())
  end)

  it("a long random sort matches Lua's table.sort, float32 and float64", function()
    cnn.manual_seed(4)
    for _, dt in ipairs({"float32", "float64"}) do
      local x = cnn.randn(5000, dt)
      local v, i = x:sort()
      local ref = x:totable()
      table.sort(ref)
      assert.are.same(ref, v:totable())
      H.close(x:index_select(1, i), v, 0)
    end
  end)

  -- long lines take the radix sort (from 128 float32 / 256 float64 or int64 elements), short ones
  -- the merge sort: both against a reference, stable sort by (value with NaN largest, position)
  it("long lines (radix sort): ties, NaN, -0 and +0, infinities, extremes, both directions", function()
    local function ref_order(vals, desc)
      local ord = {}
      for k = 1, #vals do ord[k] = k end
      local function key_before(a, b)                       -- NaN largest
        if desc then a, b = b, a end
        return a < b or (b ~= b and a == a)
      end
      table.sort(ord, function(i, j)
        local a, b = vals[i], vals[j]
        if key_before(a, b) then return true end
        if key_before(b, a) then return false end
        return i < j
      end)
      return ord
    end
    cnn.manual_seed(9)
    for _, n in ipairs({100, 127, 128, 300, 3000}) do
      local base = cnn.randint(-6, 6, {n}):double():totable()
      for k = 1, n, 7 do base[k] = 0 / 0 end
      for k = 3, n, 11 do base[k] = -0.0 end
      for k = 5, n, 13 do base[k] = 1 / 0 end
      for k = 6, n, 17 do base[k] = -1 / 0 end
      for k = 2, n, 19 do base[k] = base[k] + 0.25 end
      for _, dt in ipairs({"float32", "float64"}) do
        local x = cnn.tensor(base, dt)
        for _, desc in ipairs({false, true}) do
          local _, i = x:sort(1, {descending = desc})
          assert.are.same(ref_order(base, desc), i:totable(), ("%s n=%d desc=%s"):format(dt, n, tostring(desc)))
        end
      end
      local ints = cnn.randint(-3, 3, {n}, "int64"):totable()
      ints[1], ints[2], ints[n] = math.maxinteger, math.mininteger, math.mininteger + 1
      local xi = i64(ints)
      for _, desc in ipairs({false, true}) do
        local v, i = xi:sort(1, {descending = desc})
        local want = ref_order(ints, desc)
        assert.are.same(want, i:totable(), ("int64 n=%d desc=%s"):format(n, tostring(desc)))
        assert.are.equal(desc and math.maxinteger or math.mininteger, v[1])
      end
    end
  end)

  it("the same answer at 1 and 2 threads (lines are split over threads from 128K elements)", function()
    cnn.manual_seed(8)
    local x = cnn.randint(0, 50, {300, 500}):float()
    local n0 = cnn.get_num_threads()
    local out = {}
    for _, th in ipairs({1, 2}) do
      cnn.set_num_threads(th)
      local v, i = x:sort(2, {descending = true})
      local tv, ti = x:topk(7, 2)
      local cv, ci = x:sort(1)
      out[th] = {v, i, tv, ti, cv, ci}
    end
    cnn.set_num_threads(n0)
    for k = 1, 6 do assert.are.same(out[1][k]:totable(), out[2][k]:totable()) end
    local ref = x[17]:totable()
    table.sort(ref, function(a, b) return a > b end)
    assert.are.same(ref, out[2][1][17]:totable())
  end)

  it("int64: exact beyond 2^53, indices 1-based", function()
    local big = (1 << 62) + 1
    local v, i = i64({big, -3, big - 1, 0}):sort()
    assert.are.same({-3, 0, big - 1, big}, v:totable())
    assert.are.equal("int64", v:dtype())
    assert.are.same({2, 4, 3, 1}, i:totable())
    local tv, ti = i64({{4, 9, 1}, {7, 7, 2}}):topk(2)
    assert.are.same({{9, 4}, {7, 7}}, tv:totable())
    assert.are.same({{2, 1}, {1, 2}}, ti:totable())
  end)

  it("empty, 0-d and size-1 inputs", function()
    local v, i = cnn.zeros(0):sort()
    assert.are.same({0}, v:size())
    assert.are.same({0}, i:size())
    v, i = cnn.zeros(3, 0):sort(2)
    assert.are.same({3, 0}, v:size())
    v, i = cnn.zeros(0, 3):sort(2)
    assert.are.same({0, 3}, i:size())
    v, i = cnn.tensor(7):sort()
    assert.are.equal(7, v:item())
    assert.are.equal(1, i:item())
    assert.are.equal(0, i:dim())
    v, i = cnn.tensor(7):sort(-1)
    assert.are.equal(1, i:item())
  end)

  it("gradient: back through the indices (hand-computed and gradcheck)", function()
    local x = cnn.tensor({3, 1, 2}, {requires_grad = true})
    local v = x:sort()
    ;(v * cnn.tensor({10, 20, 30})):sum():backward()
    assert.are.same({30, 10, 20}, x.grad:totable())
    assert.are.equal("sort", v:grad_fn())
    cnn.manual_seed(1)
    local a = cnn.randn(3, 4, {dtype = "float64", requires_grad = true})
    H.gradcheck(function(t) return (t:sort(2)) end, {a})
    H.gradcheck(function(t) return (t:sort(1, {descending = true})) end, {a})
    H.gradcheck(function(t) return (t:topk(2, 2)) end, {a})
    H.gradcheck(function(t) return (t:topk(2, 1, {largest = false})) end, {a})
  end)
end)

describe("topk", function()
  it("k largest and smallest, sorted, ties to the first", function()
    local x = cnn.tensor({{1, 5, 3, 5}, {4, 2, 6, 0}})
    local v, i = x:topk(2)
    assert.are.same({{5, 5}, {6, 4}}, v:totable())
    assert.are.same({{2, 4}, {3, 1}}, i:totable())
    v, i = x:topk(3, 2, {largest = false})
    assert.are.same({{1, 3, 5}, {0, 2, 4}}, v:totable())
    assert.are.same({{1, 3, 2}, {4, 2, 1}}, i:totable())
    v, i = x:topk(1, 1)
    assert.are.same({{4, 5, 6, 5}}, v:totable())
    assert.are.same({{2, 1, 2, 1}}, i:totable())
    v, i = cnn.topk(x, 0)
    assert.are.same({2, 0}, v:size())
    v, i = x:topk(4, 2, {sorted = false})                         -- k = n: the full descending sort
    assert.are.same({{5, 5, 3, 1}, {6, 4, 2, 0}}, v:totable())
    local n = cnn.tensor({1, NAN, 3})
    v, i = n:topk(1)
    assert.is_true(is_nan(v:totable()[1]))
    assert.are.same({2}, i:totable())
    v, i = n:topk(2, 1, {largest = false})
    assert.are.same({1, 3}, v:totable())
  end)

  it("agrees with sort for small and large k (the two kernels)", function()
    cnn.manual_seed(2)
    local x = cnn.randint(0, 20, {7, 300}):float()                -- many ties
    local sv, si = x:sort(2, {descending = true})
    for _, k in ipairs({1, 10, 64, 65, 200, 300}) do
      local v, i = x:topk(k, 2)
      H.close(v, sv:narrow(2, 1, k), 0)
      assert.are.same(si:narrow(2, 1, k):totable(), i:totable())
      local v2, i2 = x:topk(k, 2, {largest = false})
      local av, ai = x:sort(2)
      H.close(v2, av:narrow(2, 1, k), 0)
      assert.are.same(ai:narrow(2, 1, k):totable(), i2:totable())
    end
  end)

  it("refuses k out of range", function()
    H.errors(function() cnn.zeros(2, 3):topk(4) end, "cnn.topk: argument 1 (k): expected 0..3 (the size of dimension 2), got 4")
    H.errors(function() cnn.topk(cnn.zeros(2, 3), -1, 1) end, "cnn.topk: argument 2 (k): expected 0..2 (the size of dimension 1), got -1")
    H.errors(function() cnn.zeros(3):topk(1.5) end, "cnn.topk: argument 1 (k): expected an integer, got 1.5")
  end)
end)

describe("gather and scatter_add", function()
  it("gather along each dim (hand-computed), int64 and float indices", function()
    local t = cnn.tensor({{1, 2}, {3, 4}})
    assert.are.same({{1, 1}, {4, 3}}, t:gather(2, i64({{1, 1}, {2, 1}})):totable())
    assert.are.same({{3, 2}, {1, 2}}, t:gather(1, i64({{2, 1}, {1, 1}})):totable())
    assert.are.same({{3, 2}, {1, 2}}, cnn.gather(t, 1, cnn.tensor({{2, 1}, {1, 1}})):totable())
    assert.are.same({{4}}, t:gather(2, i64({{2}})):narrow(1, 1, 1):totable() and t:gather(2, i64({{1}, {2}})):narrow(1, 2, 1):totable())
    -- index smaller than the input except along dim; output has the index's shape
    local m = cnn.arange(12):view(3, 4)
    assert.are.same({{3, 0}, {5, 5}}, m:gather(2, i64({{4, 1}, {2, 2}})):totable())
    -- int64 input, a transposed input view, a 0-d input
    assert.are.same({{30, 10}}, i64({{10, 20, 30}}):gather(2, i64({{3, 1}})):totable())
    assert.are.same({{1, 4}}, t:t():gather(1, i64({{1, 2}})):totable())
    assert.are.equal(5, cnn.tensor(5):gather(1, i64(1)):item())
    assert.are.same({2, 0}, t:gather(2, cnn.zeros(2, 0, "int64")):size())
  end)

  it("gather names a bad index and refuses mismatched shapes", function()
    local t = cnn.zeros(2, 4)
    H.errors(function() t:gather(2, i64({{1, 5}})) end,
      "cnn.gather: argument 2 (index): index 5 at [1,2] is out of range for dimension 2 of size 4")
    H.errors(function() cnn.gather(t, 2, i64({{0}})) end,
      "cnn.gather: argument 3 (index): index 0 at [1,1] is out of range for dimension 2 of size 4 (indices count from 1)")
    H.errors(function() t:gather(2, cnn.tensor({{1.5}})) end, "cnn.gather: argument 2 (index): index 1.5 at [1,1] is not an integer")
    H.errors(function() t:gather(2, cnn.tensor({{NAN}})) end, "is not an integer")
    H.errors(function() t:gather(2, i64({1, 2})) end, "cnn.gather: argument 2 (index): index has 1 dimensions but the input has 2")
    H.errors(function() t:gather(2, cnn.ones({3, 1}, "int64")) end,
      "cnn.gather: argument 2 (index): index of shape [3,1] is larger than the input of shape [2,4] in dimension 1")
    H.errors(function() t:gather(3, i64({{1}})) end, "cnn.gather: argument 1 (dim): dimension 3 is out of range")
    H.errors(function() t:gather(1, {{1}}) end, "cnn.gather: argument 2 (index): expected a tensor, got table")
  end)

  it("scatter_add_ and scatter_add (hand-computed; repeated indices add up)", function()
    local z = cnn.zeros(2, 3)
    local r = z:scatter_add_(1, i64({{1, 2, 1}, {1, 1, 1}}), cnn.tensor({{1, 2, 3}, {4, 5, 6}}))
    assert.are.equal(z, r)
    assert.are.same({{5, 5, 9}, {0, 2, 0}}, z:totable())
    local h = cnn.zeros(4):scatter_add_(1, i64({2, 4, 2, 2}), cnn.ones(4))         -- a histogram
    assert.are.same({0, 3, 0, 1}, h:totable())
    local base = cnn.ones(2, 2)
    local s = base:scatter_add(2, i64({{2}, {1}}), cnn.tensor({{10, 99}, {20, 99}}))  -- src larger than index
    assert.are.same({{1, 11}, {21, 1}}, s:totable())
    assert.are.same({{1, 1}, {1, 1}}, base:totable())            -- not in place
    local iz = i64({0, 0}):scatter_add_(1, i64({2, 2}), i64({(1 << 62), 5}))
    assert.are.same({0, (1 << 62) + 5}, iz:totable())
    -- into a view (a column of a matrix)
    local m = cnn.zeros(3, 2)
    m:select(2, 2):scatter_add_(1, i64({3, 3}), cnn.tensor({1, 2}))
    assert.are.same({{0, 0}, {0, 0}, {0, 3}}, m:totable())
    -- src sharing self's memory is read before writing
    local o = cnn.tensor({1, 2, 3})
    o:scatter_add_(1, i64({2, 3, 1}), o)
    assert.are.same({4, 3, 5}, o:totable())
  end)

  it("scatter_add refuses bad arguments", function()
    local z = cnn.zeros(2, 3)
    H.errors(function() z:scatter_add_(1, i64({{3}}), cnn.ones(1, 1)) end,
      "cnn.scatter_add_: argument 2 (index): index 3 at [1,1] is out of range for dimension 1 of size 2")
    H.errors(function() z:scatter_add_(1, i64({{1, 1}}), cnn.ones(1, 1)) end,
      "cnn.scatter_add_: argument 2 (index): index of shape [1,2] is larger than src of shape [1,1] in dimension 2")
    H.errors(function() z:scatter_add_(1, i64({{1}}), cnn.ones(1, 1, "float64")) end,
      "cnn.scatter_add_: argument 3 (src): src is float64 [1,1] but self is float32 [2,3]")
    H.errors(function() z:scatter_add_(1, i64({{1}}), cnn.ones(1)) end,
      "cnn.scatter_add_: argument 3 (src): src has 1 dimensions but index has 2")
    H.errors(function() cnn.zeros(1):expand(3):scatter_add_(1, i64({1}), cnn.ones(1)) end, "expanded view")
    local leaf = cnn.zeros(3, {requires_grad = true})
    H.errors(function() leaf:scatter_add_(1, i64({1}), cnn.ones(1)) end, "a leaf tensor that requires grad cannot be modified in place")
    local view = cnn.zeros(3, 2):select(2, 1)
    H.errors(function() view:scatter_add_(1, i64({1}), cnn.ones(1, {requires_grad = true})) end,
      "shares its memory with another tensor")
  end)

  it("gradients: gather (a scatter-add), scatter_add to self and src, in place too", function()
    local x = cnn.tensor({{1, 2}, {3, 4}}, {requires_grad = true})
    local y = x:gather(2, i64({{1, 1}, {2, 1}}))
    y:sum():backward()
    assert.are.same({{2, 0}, {1, 1}}, x.grad:totable())
    assert.are.equal("gather", y:grad_fn())
    local a = cnn.zeros(2, 2, {requires_grad = true})
    local src = cnn.ones(2, 3, {requires_grad = true})
    local out = a:scatter_add(2, i64({{2, 2}, {1, 2}}), src)
    ;(out * cnn.tensor({{1, 2}, {3, 4}})):sum():backward()
    assert.are.same({{1, 2}, {3, 4}}, a.grad:totable())
    assert.are.same({{2, 2, 0}, {3, 4, 0}}, src.grad:totable())    -- column 3 is not read
    -- in place on a fresh result: the node moves to the written tensor
    local s2 = cnn.ones(2, {requires_grad = true})
    local w = cnn.zeros(3, {requires_grad = true})
    local t = w * 1
    t:scatter_add_(1, i64({3, 1}), s2)
    assert.are.equal("scatter_add", t:grad_fn())
    ;(t * cnn.tensor({1, 2, 3})):sum():backward()
    assert.are.same({3, 1}, s2.grad:totable())
    assert.are.same({1, 2, 3}, w.grad:totable())
    local plain = cnn.zeros(3)                                     -- a tensor without grad becomes a result
    local s3 = cnn.ones(1, {requires_grad = true})
    plain:scatter_add_(1, i64({2}), s3)
    assert.is_true(plain:requires_grad())
    ;(plain * 5):sum():backward()
    assert.are.same({5}, s3.grad:totable())
    cnn.manual_seed(3)
    local g = cnn.randn(3, 4, {dtype = "float64", requires_grad = true})
    local idx = i64({{1, 3}, {3, 3}, {2, 1}})
    H.gradcheck(function(u) return u:gather(1, idx) end, {g})
    local sg = cnn.randn(3, 2, {dtype = "float64", requires_grad = true})
    H.gradcheck(function(u, v) return u:scatter_add(2, idx, v) end, {g, sg})
    H.gradcheck(function(u, v) return (u * 1):scatter_add_(2, idx, v) end, {g, sg})
  end)
end)

describe("cumsum, cumprod", function()
  it("values along each dim (hand-computed), int64 wraps", function()
    local t = cnn.tensor({{1, 2, 3}, {4, 5, 6}})
    assert.are.same({{1, 3, 6}, {4, 9, 15}}, t:cumsum(2):totable())
    assert.are.same({{1, 2, 3}, {5, 7, 9}}, cnn.cumsum(t, 1):totable())
    assert.are.same({{1, 2, 6}, {4, 20, 120}}, t:cumprod(-1):totable())
    assert.are.same({{1, 2, 3}, {4, 10, 18}}, t:cumprod(1):totable())
    assert.are.same({{1, 4}, {3, 9}, {6, 15}}, t:t():cumsum(1):totable())   -- a view
    local c = i64({math.maxinteger, 1, 2}):cumsum(1)
    assert.are.equal("int64", c:dtype())
    assert.are.same({math.maxinteger, math.mininteger, math.mininteger + 2}, c:totable())
    assert.are.same({2, 6, 0}, i64({2, 3, 0}):cumprod(1):totable())
    assert.are.same({0}, cnn.zeros(0):cumsum(1):size())
    assert.are.equal(3, cnn.tensor(3):cumprod(1):item())
    H.errors(function() t:cumsum(3) end, "cnn.cumsum: argument 1 (dim): dimension 3 is out of range")
    H.errors(function() t:cumprod() end, "cnn.cumprod: argument 1 (dim): expected an integer, got no value")
  end)

  it("gradients, including zeros in cumprod's input (hand-computed and gradcheck)", function()
    local x = cnn.tensor({1, 2, 3}, {requires_grad = true})
    x:cumsum(1):sum():backward()
    assert.are.same({3, 2, 1}, x.grad:totable())
    -- y = (2, 0, 0, 0): dy/dx at x = (2, 0, 3, 0), weights 1: d/dx1 = 1, d/dx2 = 2 + 2*3 + 2*3*0 = 8,
    -- d/dx3 = 0 (every term with x3 also has x2 = 0), d/dx4 = 2*0*3 = 0
    local z = f64({2, 0, 3, 0}):requires_grad(true)
    z:cumprod(1):sum():backward()
    assert.are.same({1, 8, 0, 0}, z.grad:totable())
    local one = f64({2, 5, 0}):requires_grad(true)       -- a single zero, last
    one:cumprod(1):sum():backward()
    assert.are.same({1 + 5, 2, 10}, one.grad:totable())
    cnn.manual_seed(5)
    local a = cnn.randn(3, 4, {dtype = "float64", requires_grad = true})
    H.gradcheck(function(u) return u:cumsum(2) end, {a})
    H.gradcheck(function(u) return u:cumprod(1) end, {a})
    local zs = f64({{0, 1.5, -2, 0.5}, {1.2, 0, 0, 2}, {0.7, -1.1, 0.9, 0}}):requires_grad(true)
    H.gradcheck(function(u) return u:cumprod(2) end, {zs})
    H.gradcheck(function(u) return u:cumprod(1) end, {zs})
  end)
end)

describe("flip, roll", function()
  it("values (hand-computed), views, int64, dims forms", function()
    local t = cnn.tensor({{1, 2, 3}, {4, 5, 6}})
    assert.are.same({{4, 5, 6}, {1, 2, 3}}, t:flip(1):totable())
    assert.are.same({{3, 2, 1}, {6, 5, 4}}, t:flip({-1}):totable())
    assert.are.same({{6, 5, 4}, {3, 2, 1}}, t:flip({1, 2}):totable())
    assert.are.same({{6, 5, 4}, {3, 2, 1}}, cnn.flip(t, 1, 2):totable())
    assert.are.same({{3, 6}, {2, 5}, {1, 4}}, t:t():flip(1):totable())
    assert.are.same({{3, 1, 2}, {6, 4, 5}}, t:roll(1, 2):totable())
    assert.are.same({{2, 3, 1}, {5, 6, 4}}, t:roll(-1, 2):totable())
    assert.are.same({{2, 3, 1}, {5, 6, 4}}, t:roll(5, 2):totable())
    assert.are.same({{6, 4, 5}, {3, 1, 2}}, t:roll({1, 1}, {1, 2}):totable())
    assert.are.same({{6, 1, 2}, {3, 4, 5}}, t:roll(1):totable())     -- flattened
    assert.are.same({{5, 6, 1}, {2, 3, 4}}, cnn.roll(t, -4):totable())
    assert.are.same({{3, 1, 2}, {6, 4, 5}}, t:roll({1, 1}, {2, 2}):totable() and t:roll({2, 2}, {2, 2}):roll(-3, 2):totable())
    assert.are.same({{3, 2, 1}}, i64({{1, 2, 3}}):flip(2):totable())
    assert.are.same({3, 1, 2}, i64({1, 2, 3}):roll(1, 1):totable())
    assert.are.same({0, 2}, cnn.zeros(0, 2):roll(1, 1):size())
    assert.are.equal(4, cnn.tensor(4):flip(1):item())
  end)

  it("refuses bad dims and shifts", function()
    local t = cnn.zeros(2, 3)
    H.errors(function() t:flip(3) end, "cnn.flip: argument 1 (dims): dimension 3 is out of range")
    H.errors(function() t:flip({1, 1}) end, "cnn.flip: argument 1 (dims): dimension 1 appears more than once")
    H.errors(function() t:flip() end, "cnn.flip: argument 1 (dims): expected a dimension or a table of them, got no value")
    H.errors(function() t:flip({1.5}) end, "cnn.flip: argument 1 (dims): entry 1: expected an integer, got 1.5")
    H.errors(function() t:roll({1, 2}, 1) end, "cnn.roll: argument 2 (dims): expected as many dims as shifts (2), got 1")
    H.errors(function() t:roll({1, 2}) end, "cnn.roll: argument 1 (shifts): expected one shift when no dims are given")
    H.errors(function() t:roll(1, 0) end, "cnn.roll: argument 2 (dims): dimension 0 is out of range")
    H.errors(function() t:roll("x", 1) end, "cnn.roll: argument 1 (shifts): expected an integer or a table of them, got string")
    assert.are.same({{0, 0, 0}, {0, 0, 0}}, t:roll(math.mininteger, 2):totable())
  end)

  it("gradients (hand-computed and gradcheck)", function()
    local x = cnn.tensor({1, 2, 3}, {requires_grad = true})
    ;(x:roll(1, 1) * cnn.tensor({10, 20, 30})):sum():backward()
    assert.are.same({20, 30, 10}, x.grad:totable())
    local y = cnn.tensor({1, 2, 3}, {requires_grad = true})
    ;(y:flip(1) * cnn.tensor({10, 20, 30})):sum():backward()
    assert.are.same({30, 20, 10}, y.grad:totable())
    cnn.manual_seed(6)
    local a = cnn.randn(3, 4, {dtype = "float64", requires_grad = true})
    H.gradcheck(function(u) return u:flip({1, 2}) end, {a})
    H.gradcheck(function(u) return u:roll({1, -3}, {1, 2}) end, {a})
    H.gradcheck(function(u) return u:roll(5) end, {a})
    H.gradcheck(function(u) return u:t():roll(2, 1) end, {a})
  end)
end)

describe("unique, nonzero, searchsorted", function()
  it("unique: sorted values, 1-based inverse, counts; NaNs each their own", function()
    local x = cnn.tensor({{3, 1}, {3, 2}, {1, 1}})
    local v, inv, cnt = cnn.unique(x, {return_inverse = true, return_counts = true})
    assert.are.same({1, 2, 3}, v:totable())
    assert.are.same({{3, 1}, {3, 2}, {1, 1}}, inv:totable())
    assert.are.same({3, 1, 2}, cnt:totable())
    assert.are.equal("int64", inv:dtype())
    local v2, c2 = x:unique({return_counts = true})
    assert.are.same({1, 2, 3}, v2:totable())
    assert.are.same({3, 1, 2}, c2:totable())
    local v3, i3 = x:unique({return_inverse = true, sorted = false})
    assert.are.same({1, 2, 3}, v3:totable())
    assert.are.same({3, 2}, i3:size())
    assert.are.equal(1, select("#", x:unique()))
    local n = cnn.unique(cnn.tensor({NAN, 1, NAN}))
    assert.are.equal(3, n:size(1))
    assert.are.same({-2, 7}, i64({7, -2, 7}):unique():totable())
    assert.are.same({0}, cnn.unique(cnn.zeros(0)):size())
    H.errors(function() x:unique({dim = 1}) end, "cnn.unique: argument 1 (options): dim is not supported")
    H.errors(function() x:unique({counts = true}) end, "cnn.unique: argument 1 (options): unknown option 'counts'")
  end)

  it("nonzero: 1-based (n, ndim) int64", function()
    local z = cnn.tensor({{0, 1, 0}, {2, 0, NAN}}):nonzero()
    assert.are.equal("int64", z:dtype())
    assert.are.same({{1, 2}, {2, 1}, {2, 3}}, z:totable())
    assert.are.same({{2}, {3}}, i64({0, 5, -1}):nonzero():totable())
    assert.are.same({0, 2}, cnn.zeros(2, 2):nonzero():size())
    assert.are.same({1, 0}, cnn.tensor(3):nonzero():size())
    assert.are.same({{1, 2}}, cnn.tensor({{1, 0}, {0, 1}}):t():narrow(1, 2, 1):nonzero():totable())
  end)

  it("searchsorted: PyTorch's index + 1, left and right, batched, numbers", function()
    local s = cnn.tensor({1, 3, 5, 7})
    assert.are.same({1, 2, 4, 5}, cnn.searchsorted(s, cnn.tensor({0, 3, 6, 9})):totable())
    assert.are.same({1, 3, 4, 5}, cnn.searchsorted(s, cnn.tensor({0, 3, 6, 9}), {right = true}):totable())
    assert.are.equal(2, cnn.searchsorted(s, 3):item())
    assert.are.equal(3, cnn.searchsorted(s, 3, {right = true}):item())
    assert.are.equal(5, cnn.searchsorted(s, NAN):item())
    assert.are.same({{2, 3}}, cnn.searchsorted(s, cnn.tensor({{2, 4}})):totable())     -- values of any shape
    local b = cnn.tensor({{1, 2, 3}, {10, 20, 30}})
    assert.are.same({{3, 4}, {1, 2}}, cnn.searchsorted(b, cnn.tensor({{2.5, 9}, {5, 15}})):totable())
    assert.are.same({2, 4}, cnn.searchsorted(i64({1, 3, 5}), i64({2, 6})):totable())
    assert.are.same({2, 3}, cnn.searchsorted(i64({1, 3, 5}), cnn.tensor({2, 3.5})):totable())  -- mixed: float64
    assert.are.equal(3, cnn.searchsorted(cnn.tensor({1, 3, 5}), 4):item())
    assert.are.same({1}, cnn.searchsorted(cnn.zeros(0), cnn.tensor({1})):totable())
    H.errors(function() cnn.searchsorted(b, cnn.tensor({1})) end, "cnn.searchsorted: sorted_sequence of shape [2,3] and values of shape [1]")
    H.errors(function() cnn.searchsorted(cnn.tensor(1), cnn.tensor({1})) end, "cnn.searchsorted: sorted_sequence must have at least one dimension")
    H.errors(function() cnn.searchsorted(s, "x") end, "cnn.searchsorted: argument 2 (values): expected a tensor, got string")
    H.errors(function() cnn.searchsorted(s, 1, {right = 1}) end, "cnn.searchsorted: argument 3 (options): right must be a boolean, got number")
  end)
end)

describe("sorting and gathering under hostile input", function()
  it("clear errors for wrong dims and options; no leaks", function()
    local t = cnn.zeros(2, 3)
    H.errors(function() t:sort(3) end, "cnn.sort: argument 1 (dim): dimension 3 is out of range (expected 1..2 or -2..-1)")
    H.errors(function() t:sort(1, {descending = "yes"}) end, "cnn.sort: argument 2 (options): descending must be a boolean, got string")
    H.errors(function() t:sort(1, {reverse = true}) end, "cnn.sort: argument 2 (options): unknown option 'reverse'")
    H.errors(function() cnn.sort(3) end, "cnn.sort: argument 1 (input): expected a tensor, got number")
    H.errors(function() cnn.tensor(1):sort(2) end, "cnn.sort: argument 1 (dim): dimension 2 is out of range (expected 1..1 or -1..-1)")
    H.no_leak(function()
      local x = cnn.randn(4, 5, {requires_grad = true})
      local v = x:sort(2)
      local tv = x:topk(2)
      local g = x:gather(2, cnn.ones({4, 2}, "int64"))
      local s = x:scatter_add(1, cnn.ones({1, 5}, "int64"), x)
      ;(v:sum() + tv:sum() + g:sum() + s:sum() + x:cumprod(1):sum() + x:cumsum(2):sum() + x:flip(1):sum() + x:roll(1):sum()):backward()
      cnn.unique(x:detach(), {return_inverse = true, return_counts = true})
      x:detach():nonzero()
      cnn.searchsorted(cnn.arange(5), x:detach())
      pcall(function() x:gather(2, cnn.ones({4, 2}, "int64") * 9) end)
    end)
  end)

  -- option, dims and shifts tables whose metamethods would close the tensor: read raw, so the
  -- metamethods never run (as spec/hostile_spec.lua checks for the other bindings)
  it("hostile tables never run Lua code while the arguments are read", function()
    local fired = false
    local function hostile(contents, victim)
      return setmetatable(contents, {
        __index = function() fired = true; getmetatable(victim).__close(victim); collectgarbage() end,
        __len = function() fired = true; getmetatable(victim).__close(victim); collectgarbage(); return 2 end,
      })
    end
    local t = cnn.rand(3, 4)
    local calls = {
      function() return t:sort(2, hostile({descending = true}, t)) end,
      function() return t:argsort(hostile({}, t)) end,
      function() return t:topk(2, 2, hostile({largest = false}, t)) end,
      function() return t:flip(hostile({1, 2}, t)) end,
      function() return t:roll(hostile({1, 1}, t), hostile({1, 2}, t)) end,
      function() return t:unique(hostile({return_counts = true}, t)) end,
      function() return cnn.searchsorted(t:select(1, 1), t, hostile({right = true}, t)) end,
    }
    for k, f in ipairs(calls) do
      local ok, err = pcall(f)
      assert.is_false(fired, "a metamethod ran in call " .. k)
      assert(ok or tostring(err):find("cnn%."), tostring(err))
    end
    assert.are.same({3, 4}, t:size())
  end)

  it("huge sizes fail cleanly", function()
    local big = cnn.zeros(1):expand(2 ^ 40)                        -- a view: no memory behind it
    local ok, err = pcall(function() return big:sort() end)
    assert(not ok and tostring(err):find("cnn.sort: ", 1, true), tostring(err))
    ok, err = pcall(function() return big:cumsum(1) end)
    assert(not ok and tostring(err):find("cnn.cumsum: ", 1, true), tostring(err))
    ok, err = pcall(function() return big:nonzero() end)
    assert(not ok and tostring(err):find("cnn.nonzero: ", 1, true), tostring(err))
    ok, err = pcall(function() return cnn.unique(big) end)
    assert(not ok and tostring(err):find("cnn.unique: ", 1, true), tostring(err))
  end)

  -- the new functions with arguments drawn from hostile and plausible pools (as
  -- lua_api_fuzz_spec.lua does for the Lua modules): each call succeeds or raises a "cnn." message
  it("a short fuzz of every function", function()
    local function closed() local t = cnn.rand(2, 3); getmetatable(t).__close(t); return t end
    local pool = {
      "nil", 0, 1, 2, -1, 3, -3, 1.5, 1 / 0, 0 / 0, 2 ^ 63, math.maxinteger, math.mininteger, "x", true, {}, {1}, {2, 1},
      {1, 1}, {-1, 2}, {descending = true}, {largest = false}, {return_counts = true, return_inverse = true}, {right = true},
      {dim = 1}, {x = 1}, closed(), cnn.zeros(0), cnn.zeros(0, 3), cnn.zeros(2, 3, "float64"), cnn.tensor(3),
      cnn.zeros(1):expand(2 ^ 40), cnn.rand(2, 3), cnn.rand(3, 2):t(), i64({{1, 2, 1}, {2, 2, 1}}), i64({{1}, {3}}),
      i64({{0, 9}}), cnn.tensor({{1.5}}), cnn.rand(4), i64({1, 2, 3}), cnn.rand(2, 3, {requires_grad = true}),
      setmetatable({1, 2}, {__index = function() error("metamethod ran") end, __len = function() return 2 ^ 40 end}),
    }
    local names = {"sort", "argsort", "topk", "gather", "scatter_add_", "scatter_add", "cumsum", "cumprod", "flip",
                   "roll", "unique", "nonzero", "searchsorted"}
    math.randomseed(7)
    local bad = {}
    for _, name in ipairs(names) do
      for _ = 1, 150 do
        local args = {}
        for k = 1, 4 do
          local v = pool[math.random(#pool)]
          if v ~= "nil" then args[k] = v end
        end
        local ok, err = pcall(cnn[name], table.unpack(args, 1, 4))
        if not ok then
          err = tostring(err)
          if not (err:find("^[^\n]-cnn%.") or err:find("metamethod ran", 1, true)) or err:find("attempt to", 1, true) then
            bad[#bad + 1] = name .. ": " .. err
          end
        end
      end
    end
    assert(#bad == 0, table.concat(bad, "\n"))
  end)
end)
