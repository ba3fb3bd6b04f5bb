-- The int64 dtype (issue 17): construction, conversions, element access, views, printing,
-- checkpoints, no gradients (tensor.c, lua_tensor.c, format.c, safetensors.c), and the one dtype
-- gate of the bindings (check_tensor, lua_util.c) that refuses int64 where an op has no kernel.
local cnn = require "cnn"
local H = require "helpers"

local BIG = (1 << 62) + 1   -- an integer a float64 cannot hold exactly

describe("int64: the dtype", function()
  it("cnn.tensor(t, 'int64') keeps integers exactly and gives Lua integers back", function()
    local t = cnn.tensor({{1, -2, 3}, {4, 5, BIG}}, "int64")
    assert.are.equal("int64", t:dtype())
    assert.are.same({2, 3}, t:size())
    assert.are.equal(8, t:stride(1) * 8 / 3 * 1)   -- contiguous (3, 1)
    assert.are.equal(BIG, t:get(2, 3))
    assert.are.equal("integer", math.type(t:get(1, 2)))
    assert.are.equal("integer", math.type(t[1][1]))
    assert.are.equal("integer", math.type(t:totable()[2][3]))
    assert.are.same({{1, -2, 3}, {4, 5, BIG}}, t:totable())
    assert.are.equal(BIG, t[2][3])
    local s = cnn.tensor(7, "int64")
    assert.are.equal(0, s:dim())
    assert.are.equal(7, s:item())
    assert.are.equal("integer", math.type(s:item()))
    assert.are.equal("int64", cnn.tensor({2.0, 3}, "long"):dtype())   -- floats holding integers pass
    assert.are.same({2, 3}, cnn.tensor({2.0, 3}, {dtype = "int64"}):totable())
    assert.are.same({}, cnn.tensor({}, "int64"):totable())
  end)

  it("cnn.tensor refuses non-integral and out-of-range values for int64", function()
    H.errors(function() cnn.tensor({1, 2.5}, "int64") end,
      "cnn.tensor: argument 1 (data): expected an integer for an int64 tensor at [2], got 2.5")
    H.errors(function() cnn.tensor({{1}, {1e19}}, "int64") end,
      "cnn.tensor: argument 1 (data): 1e+19 at [2][1] is out of the range of int64")
    H.errors(function() cnn.tensor({0 / 0}, "int64") end, "expected an integer for an int64 tensor at [1]")
    H.errors(function() cnn.tensor(1 / 0, "int64") end, "inf at [] is out of the range of int64")
    H.errors(function() cnn.tensor(0.5, "int64") end, "expected an integer for an int64 tensor at [], got 0.5")
  end)

  it("constructors take 'int64'", function()
    assert.are.same({{0, 0}, {0, 0}}, cnn.zeros(2, 2, "int64"):totable())
    assert.are.equal("int64", cnn.ones({3}, "int64"):dtype())
    assert.are.same({1, 1, 1}, cnn.ones({3}, "int64"):totable())
    assert.are.same({7, 7}, cnn.full({2}, 7, "int64"):totable())
    assert.are.same({0, 1, 2, 3}, cnn.arange(4, "int64"):totable())
    assert.are.same({2, 4, 6}, cnn.arange(2, 8, 2, "int64"):totable())
    assert.are.same({{1, 0}, {0, 1}}, cnn.eye(2, "int64"):totable())
    cnn.manual_seed(3)
    local r = cnn.randint(-5, 5, {1000}, "int64")
    assert.are.equal("int64", r:dtype())
    local lo, hi = math.huge, -math.huge
    for _, v in ipairs(r:totable()) do
      assert.are.equal("integer", math.type(v))
      lo, hi = math.min(lo, v), math.max(hi, v)
    end
    assert.are.same({-5, 4}, {lo, hi})
    -- same draws as the float64 version of the same seed
    cnn.manual_seed(3)
    assert.are.same(r:totable(), cnn.randint(-5, 5, {1000}, "float64"):long():totable())
    local e = cnn.randint(0, math.maxinteger, {4}, "int64")   -- beyond 2^53, exact
    for _, v in ipairs(e:totable()) do assert.are.equal("integer", math.type(v)) end
    H.errors(function() cnn.rand(2, "int64") end, "cnn.rand: expected a float32 or float64 tensor, got int64")
    H.errors(function() cnn.randn(2, "int64") end, "cnn.randn: expected a float32 or float64 tensor, got int64")
  end)

  it("t:long() truncates toward zero; float()/double()/to() convert back", function()
    local f = cnn.tensor({-1.7, -0.5, 0, 0.9, 2.5, 1e6}, "float64")
    local l = f:long()
    assert.are.equal("int64", l:dtype())
    assert.are.same({-1, 0, 0, 0, 2, 1000000}, l:totable())
    assert.are.same(l:totable(), f:to("int64"):totable())
    assert.are.same(l:totable(), cnn.tensor(f, "int64"):totable())
    assert.are.same(l:totable(), f:float():long():totable())
    local nan = cnn.tensor({0 / 0, 1 / 0, 1e300}):double():long()
    assert.are.same({math.mininteger, math.mininteger, math.mininteger}, nan:totable())
    local i = cnn.tensor({1, -2, BIG}, "int64")
    assert.are.equal("float64", i:double():dtype())
    assert.are.same({1, -2, 2^62}, i:double():totable())
    assert.are.same({1, -2}, i:narrow(1, 1, 2):float():totable())
    assert.are.same({1, -2, BIG}, i:long():totable())
  end)

  it("views, contiguous copies, copy_, fill_, set and cat-free element writes work on int64", function()
    local t = cnn.arange(6, "int64"):view(2, 3)
    assert.are.same({{0, 3}, {1, 4}, {2, 5}}, t:t():totable())
    local c = t:t():contiguous()
    assert.is_true(c:is_contiguous())
    assert.are.same({{0, 3}, {1, 4}, {2, 5}}, c:totable())
    assert.are.same({1, 4}, t:select(2, 2):totable())
    assert.are.same({{1, 2}, {4, 5}}, t:narrow(2, 2, 2):totable())
    assert.are.same({6}, t:reshape(6):size())
    assert.are.same({{0, 1, 2}}, t:split(1)[1]:totable())
    assert.are.same({{{0, 1, 2}, {3, 4, 5}}}, t:unsqueeze(1):totable())
    assert.are.same({{5, 5}, {5, 5}}, cnn.tensor({5}, "int64"):expand(2, 2):contiguous():totable())
    local k = t:clone()
    k[1] = 9
    k:set(2, 3, BIG)
    assert.are.same({{9, 9, 9}, {3, 4, BIG}}, k:totable())
    assert.are.same({{0, 1, 2}, {3, 4, 5}}, t:totable())          -- clone copied
    k[2] = cnn.tensor({1.9, -1.9, 7})                             -- a float source casts
    assert.are.same({1, -1, 7}, k[2]:totable())
    k:fill_(-3)
    assert.are.same({-3, -3, -3}, k[1]:totable())
    local f = cnn.zeros(3):copy(cnn.tensor({1, 2, BIG}, "int64"))
    assert.are.equal("float32", f:dtype())
    assert.are.same({1, 2, 2^62}, f:totable())
    k:zero_()
    assert.are.same({0, 0, 0}, k[2]:totable())
    local ci = cnn.cat({cnn.tensor({1}, "int64"), cnn.tensor({BIG}, "int64")}, 1)
    assert.are.equal("int64", ci:dtype())
    assert.are.same({1, BIG}, ci:totable())
    assert.are.equal("float32", cnn.cat({cnn.tensor({1}, "int64"), cnn.tensor({0.5})}, 1):dtype())
    assert.are.equal("float64", cnn.stack({cnn.tensor({1}, "int64"), cnn.tensor({0.5}, "float64")}):dtype())
    assert.are.same({{1, 2}, {3, 4}}, cnn.stack({cnn.tensor({1, 2}, "int64"), cnn.tensor({3, 4}, "int64")}):totable())
  end)

  it("prints integers", function()
    assert.are.equal("   1 -20 300\n[cnn.Tensor int64 [3]]", tostring(cnn.tensor({1, -20, 300}, "int64")))
    assert.are.equal("4611686018427387905\n[cnn.Tensor int64 []]", tostring(cnn.tensor(BIG, "int64")))
    local s = tostring(cnn.arange(2000, "int64"))
    assert.are.equal("    0    1    2 ... 1997 1998 1999\n[cnn.Tensor int64 [2000]]", s)
  end)

  it("no gradients: requires_grad is refused, long() of a graph tensor leaves the graph", function()
    H.errors(function() cnn.zeros(2, {dtype = "int64", requires_grad = true}) end,
      "cnn.zeros: argument 2 (options): only float32 and float64 tensors can require grad, not int64")
    H.errors(function() cnn.tensor({1}, {dtype = "int64", requires_grad = true}) end,
      "only float32 and float64 tensors can require grad, not int64")
    H.errors(function() cnn.tensor({1}, "int64"):requires_grad(true) end,
      "cnn.requires_grad: only float32 and float64 tensors can require grad, not int64")
    assert.is_true(cnn.tensor(cnn.tensor({1}, "int64"), {dtype = "float32", requires_grad = true}):requires_grad())
    local i = cnn.tensor({1}, "int64")
    i:requires_grad(false)                               -- turning it off is fine
    H.errors(function() i.grad = cnn.zeros(1) end, "an int64 tensor has no gradient")
    local x = cnn.randn(3, {requires_grad = true})
    local l = x:long()
    assert.is_false(l:requires_grad())
    assert.is_nil(l:grad_fn())
    assert.is_true(l:is_leaf())
    local y = (x * 2):sum()
    y:backward()
    H.close(x.grad, {2, 2, 2})
  end)

  it("cnn.save / cnn.load keep int64 tensors (safetensors I64)", function()
    local path = os.tmpname()
    local t = cnn.tensor({{1, -2}, {BIG, math.mininteger}}, "int64")
    cnn.save({labels = t, w = cnn.ones(2)}, path)
    local f = assert(io.open(path, "rb"))
    local bytes = f:read("a")
    f:close()
    assert.truthy(bytes:find('"dtype":"I64"', 1, true))
    local back = cnn.load(path)
    os.remove(path)
    assert.are.equal("int64", back.labels:dtype())
    assert.are.same(t:totable(), back.labels:totable())
    assert.are.equal("float32", back.w:dtype())
  end)
end)

describe("int64: ops without an int64 kernel refuse it (check_tensor, lua_util.c)", function()
  local F, nn = cnn.F, cnn.nn
  local MSG = "expected a float32 or float64 tensor, got int64 "

  it("names the function, the argument and the tensor", function()
    local i = cnn.tensor({1, 2, 3}, "int64")
    local m = cnn.ones({2, 2}, "int64")
    local img = cnn.ones({1, 1, 4, 4}, "int64")
    local x = cnn.randn(2, 3)
    H.errors(function() return i:relu() end, "cnn.relu: self: " .. MSG .. "[3]")
    H.errors(function() return cnn.relu(i) end, "cnn.relu: argument 1 (input): " .. MSG .. "[3]")
    H.errors(function() return F.conv2d(img, cnn.randn(1, 1, 3, 3)) end, "cnn.conv2d: argument 1 (input): " .. MSG .. "[1,1,4,4]")
    H.errors(function() return F.conv2d(cnn.randn(1, 1, 4, 4), cnn.ones({1, 1, 3, 3}, "int64")) end,
      "cnn.conv2d: argument 2 (weight): " .. MSG .. "[1,1,3,3]")
    H.errors(function() return cnn.matmul(m, cnn.randn(2, 2)) end, "cnn.matmul: argument 1 (input): " .. MSG .. "[2,2]")
    H.errors(function() return cnn.matmul(cnn.randn(2, 2), m) end, "cnn.matmul: argument 2 (other): " .. MSG .. "[2,2]")
    H.errors(function() return cnn.mean(m) end, "cnn.mean: argument 1 (input): " .. MSG .. "[2,2]")
    H.errors(function() return m:abs() end, "cnn.abs: self: " .. MSG .. "[2,2]")
    H.errors(function() return cnn.exp(m) end, "cnn.exp: argument 1 (input): " .. MSG .. "[2,2]")
    H.errors(function() return m:add_(1) end, "cnn.add_: self: " .. MSG .. "[2,2]")
    H.errors(function() return x:add_(cnn.ones({2, 3}, "int64")) end, "cnn.add_: argument 1 (other): " .. MSG .. "[2,3]")
    H.errors(function() return cnn.softmax(m, 1) end, "cnn.softmax: argument 1 (input): " .. MSG .. "[2,2]")
    H.errors(function() return F.cross_entropy(cnn.ones({2, 3}, "int64"), cnn.tensor({1, 2})) end,
      "cnn.cross_entropy: argument 1 (input): " .. MSG .. "[2,3]")
    H.errors(function() return F.mse_loss(x, cnn.ones({2, 3}, "int64")) end, "cnn.mse_loss: argument 2 (target): " .. MSG .. "[2,3]")
    H.errors(function() return F.max_pool2d(img, 2) end, "cnn.max_pool2d: argument 1 (input): " .. MSG .. "[1,1,4,4]")
    H.errors(function() return F.avg_pool2d(img, 2) end, "cnn.avg_pool2d: argument 1 (input): " .. MSG .. "[1,1,4,4]")
    H.errors(function() return F.linear(m, cnn.randn(3, 2)) end, "cnn.linear: argument 1 (input): " .. MSG .. "[2,2]")
    H.errors(function() return F.batch_norm(img, nil, nil, nil, nil, true) end, "cnn.batch_norm: argument 1 (input): " .. MSG)
    H.errors(function() return F.dropout(m, 0.5, true) end, "cnn.dropout: argument 1 (input): " .. MSG .. "[2,2]")
    H.errors(function() return F.pad(m, {1, 1}) end, "cnn.pad: argument 1 (input): " .. MSG .. "[2,2]")
    H.errors(function() return m:uniform_() end, "cnn.uniform_: self: " .. MSG .. "[2,2]")
    H.errors(function() return F.binary_cross_entropy(cnn.rand(3), cnn.rand(3), {weight = i}) end,
      "cnn.binary_cross_entropy: argument 3 (options): weight: " .. MSG .. "[3]")
    H.errors(function() return nn.Linear(2, 2):forward(m) end, MSG .. "[2,2]")
    H.errors(function() return nn.Conv2d(1, 1, 3):forward(img) end, MSG .. "[1,1,4,4]")
    H.errors(function() return i:backward() end, "cnn.backward: self: " .. MSG .. "[3]")
    local p = cnn.randn(3, {requires_grad = true})
    H.errors(function() return cnn.grad(p:sum(), {p}, {cnn.tensor(1, "int64")}) end,
      "cnn.grad: argument 3 (grad_outputs): element 1: " .. MSG .. "[]")
  end)

  -- every Tensor method and every F function, called with int64 tensors in a few argument
  -- shapes: each either works or raises a message; under ASan (make test-asan) none reads the
  -- integers as floats or crashes
  it("no function crashes or misreads an int64 tensor (a sweep)", function()
    local i2 = cnn.tensor({{1, 2}, {3, 4}}, "int64")
    local i4 = cnn.ones({1, 2, 4, 4}, "int64")
    local f2 = cnn.randn(2, 2)
    local argsets = {
      {i2}, {i2, 1}, {i2, i2}, {i2, f2}, {f2, i2}, {i2, 2, 2}, {i4}, {i4, 2}, {i4, i4},
      {f2, i2, {reduction = "sum"}}, {i2, 1, true}, {i4, cnn.randn(1, 2, 3, 3)},
      {cnn.randn(1, 2, 4, 4), cnn.ones({1, 2, 3, 3}, "int64")}, {{i2, i2}}, {{i2, f2}, 1},
    }
    local fns = {}
    for k, v in pairs(cnn.Tensor) do if type(v) == "function" then fns[#fns + 1] = {"Tensor." .. k, v} end end
    for k, v in pairs(F) do if type(v) == "function" then fns[#fns + 1] = {"F." .. k, v} end end
    table.sort(fns, function(a, b) return a[1] < b[1] end)
    local calls = 0
    for _, e in ipairs(fns) do
      for _, args in ipairs(argsets) do
        local ok, err = pcall(e[2], table.unpack(args))
        calls = calls + 1
        if not ok then
          err = tostring(err)
          assert(err:find("cnn%.") or err:find("only float32"), e[1] .. ": " .. err)
          assert(not err:find("core.so") and not err:find("attempt to"), e[1] .. " leaked a raw error: " .. err)
        end
      end
    end
    assert(calls > 1000, calls)
  end)
end)

describe("int64: class targets and indices", function()
  local F, nn = cnn.F, cnn.nn

  it("cross_entropy, nll_loss and multi_margin_loss take int64 targets (floats holding integers too)", function()
    cnn.manual_seed(1)
    local x = cnn.randn(4, 3, {requires_grad = true})
    local tf = cnn.tensor({1, 3, 2, 3})
    local ti = cnn.tensor({1, 3, 2, 3}, "int64")
    for _, name in ipairs({"cross_entropy", "nll_loss", "multi_margin_loss"}) do
      local a, b = F[name](x, tf), F[name](x, ti)
      assert.are.equal(a:item(), b:item())
    end
    local ga = cnn.grad(F.cross_entropy(x, tf), {x})[1]
    local gb = cnn.grad(F.cross_entropy(x, ti), {x})[1]
    H.close(ga, gb, 0)
    -- ignore_index with int64, a 0-d int64 target for one sample, spatial targets
    local ig = cnn.tensor({1, -100, 2, -100}, "int64")
    local o = {ignore_index = -100}
    assert.are.equal(F.cross_entropy(x, cnn.tensor({1, -100, 2, -100}), o):item(), F.cross_entropy(x, ig, o):item())
    assert.are.equal(F.cross_entropy(x:narrow(1, 1, 1), cnn.tensor({1})):item(), F.cross_entropy(x, cnn.tensor({1, 0, 0, 0}, "int64"), {ignore_index = 0}):item())
    assert.are.equal(F.cross_entropy(x[1], cnn.tensor(1)):item(), F.cross_entropy(x[1], cnn.tensor(1, "int64")):item())
    local xs = cnn.randn(2, 3, 2, 2)
    local ts = cnn.randint(1, 4, {2, 2, 2}, "int64")
    assert.are.equal(F.cross_entropy(xs, ts:float()):item(), F.cross_entropy(xs, ts):item())
    assert.are.equal(nn.CrossEntropyLoss():forward(x, tf):item(), nn.CrossEntropyLoss():forward(x, ti):item())
    H.errors(function() return F.cross_entropy(x, cnn.tensor({1, 4, 2, 3}, "int64")) end,
      "cnn.cross_entropy: argument 2 (target): expected class indices 1..3, got 4 at position 2")
    H.errors(function() return F.nll_loss(x, cnn.tensor({1, 0, 2, 3}, "int64")) end,
      "cnn.nll_loss: argument 2 (target): expected class indices 1..3, got 0 at position 2")
    H.errors(function() return F.cross_entropy(x, cnn.tensor({1, 2, 2, 3}, "int64"):view(2, 2)) end,
      "cnn.cross_entropy: argument 2 (target): expected shape [4]")
    H.errors(function() return F.cross_entropy(x, cnn.tensor({1, 2.5, 2, 3})) end,
      "expected class indices 1..3, got 2.5 at position 2")
  end)

  it("index_select and nn.Embedding take int64 indices; index_select copies int64 inputs", function()
    local t = cnn.arange(12):view(4, 3)
    local a = t:index_select(1, cnn.tensor({4, 1, 4}))
    local b = t:index_select(1, cnn.tensor({4, 1, 4}, "int64"))
    assert.are.same(a:totable(), b:totable())
    assert.are.same({{2, 0}, {5, 3}, {8, 6}, {11, 9}}, t:index_select(2, cnn.tensor({3, 1}, "int64")):totable())
    local ti = cnn.arange(12, "int64"):view(4, 3)
    local c = ti:index_select(1, cnn.tensor({2, 2}, "int64"))
    assert.are.equal("int64", c:dtype())
    assert.are.same({{3, 4, 5}, {3, 4, 5}}, c:totable())
    H.errors(function() return t:index_select(1, cnn.tensor({5}, "int64")) end,
      "cnn.index_select: argument 2 (index): index 5 (position 1) is out of range for dimension 1 of size 4")
    H.errors(function() return t:index_select(1, cnn.tensor({math.mininteger}, "int64")) end,
      "index -9223372036854775808 (position 1) is out of range for dimension 1 of size 4")
    -- gradients through the float input, indexed by int64
    local w = cnn.randn(4, 3, {requires_grad = true})
    local g = cnn.grad(w:index_select(1, cnn.tensor({2, 2}, "int64")):sum(), {w})[1]
    assert.are.same({{0, 0, 0}, {2, 2, 2}, {0, 0, 0}, {0, 0, 0}}, g:totable())
    local e = nn.Embedding(5, 2)
    local ii = cnn.tensor({{1, 5}, {2, 2}}, "int64")
    local y = e:forward(ii)
    assert.are.same({2, 2, 2}, y:size())
    H.close(y, e:forward(ii:float()), 0)
    H.close(y[1][2], e.weight[5], 0)
  end)

  it("metrics take int64 labels and predictions", function()
    local pred = cnn.tensor({1, 2, 2, 3}, "int64")
    local target = cnn.tensor({1, 2, 3, 3}, "int64")
    assert.are.equal(0.75, cnn.metrics.accuracy(pred, target))
    assert.are.equal(0.75, cnn.metrics.accuracy(pred, target:float()))
    assert.are.same(cnn.metrics.confusion_matrix(pred:float(), target:float(), 3):totable(),
      cnn.metrics.confusion_matrix(pred, target, 3):totable())
    local s = cnn.tensor({0.1, 0.9, 0.4, 0.8})
    assert.are.equal(cnn.metrics.roc_auc(s, cnn.tensor({0, 1, 0, 1})), cnn.metrics.roc_auc(s, cnn.tensor({0, 1, 0, 1}, "int64")))
  end)
end)

describe("int64: arithmetic, comparisons and reductions (PyTorch's promotion)", function()
  local a = cnn.tensor({{1, 5, 3}, {4, 2, 6}}, "int64")
  local BIG = (1 << 62) + 1

  it("int64 with int64 or an integer stays int64, exactly", function()
    local s = a + a
    assert.are.equal("int64", s:dtype())
    assert.are.same({{2, 10, 6}, {8, 4, 12}}, s:totable())
    assert.are.same({{0, 4, 2}, {3, 1, 5}}, (a - 1):totable())
    assert.are.same({{9, 5, 7}, {6, 8, 4}}, (10 - a):totable())
    assert.are.same({{3, 15, 9}, {12, 6, 18}}, (3 * a):totable())
    assert.are.same({{-1, -5, -3}, {-4, -2, -6}}, (-a):totable())
    assert.are.equal("int64", a:neg():dtype())
    assert.are.equal(-BIG, (-cnn.tensor({BIG}, "int64"))[1])
    assert.are.same({{1, 25, 9}, {16, 4, 36}}, (a ^ 2):totable())
    assert.are.equal("int64", (a ^ 2):dtype())
    assert.are.same({{4, 5, 4}, {4, 4, 6}}, cnn.maximum(a, cnn.tensor({4}, "int64")):totable())
    local big = cnn.tensor({BIG}, "int64")
    assert.are.equal(BIG + 2, (big + 2)[1])                         -- beyond 2^53
    assert.are.equal(math.mininteger, (cnn.tensor({math.maxinteger}, "int64") + 1)[1])   -- wraps, as PyTorch
    H.errors(function() return a ^ -1 end, "cnn.pow: integers to negative integer powers are not allowed")
  end)

  it("int64 with floats gives floats; division is true division in float32", function()
    assert.are.equal("float32", (a * 2.5):dtype())
    assert.are.same({{2.5, 12.5, 7.5}, {10, 5, 15}}, (a * 2.5):totable())
    assert.are.equal("float32", (a + cnn.ones(3)):dtype())
    assert.are.equal("float64", (a + cnn.ones(3, "float64")):dtype())
    assert.are.equal("float64", (cnn.ones(3, "float64") - a):dtype())
    local q = a / 2
    assert.are.equal("float32", q:dtype())
    assert.are.same({{0.5, 2.5, 1.5}, {2, 1, 3}}, q:totable())
    assert.are.same({{1, 1, 1}, {1, 1, 1}}, (a / a):totable())
    assert.are.equal("float32", (a / a):dtype())
    -- gradients flow to the float side only
    local w = cnn.randn(3, {requires_grad = true})
    local g = cnn.grad((w * a):sum(), {w})[1]
    assert.are.same({5, 7, 9}, g:totable())
  end)

  it("comparisons give float32 0/1 masks (compared exactly as integers)", function()
    local e = a:eq(5)
    assert.are.equal("float32", e:dtype())
    assert.are.same({{0, 1, 0}, {0, 0, 0}}, e:totable())
    assert.are.same({{0, 1, 0}, {1, 0, 1}}, a:gt(3):totable())
    assert.are.same({{0, 1, 0}, {1, 0, 1}}, a:gt(cnn.tensor({3.5})):totable())
    assert.are.same({{1, 1, 1}, {1, 1, 1}}, a:eq(a:float()):totable())
    local big = cnn.tensor({BIG, BIG - 1}, "int64")
    assert.are.same({1, 0}, big:eq(cnn.tensor({BIG, BIG}, "int64")):totable())   -- not rounded to floats
    -- the usual accuracy line, with argmax's int64 and labels of either dtype
    local logits = cnn.tensor({{0.1, 0.9}, {0.8, 0.2}, {0.3, 0.7}})
    assert(math.abs(logits:argmax(2):eq(cnn.tensor({2, 1, 1})):mean():item() - 2 / 3) < 1e-6)
    assert(math.abs(logits:argmax(2):eq(cnn.tensor({2, 1, 1}, "int64")):mean():item() - 2 / 3) < 1e-6)
  end)

  it("sum, max, min, argmax, argmin on int64; mean is refused", function()
    assert.are.equal(21, a:sum():item())
    assert.are.equal("integer", math.type(a:sum():item()))
    assert.are.same({5, 7, 9}, a:sum(1):totable())
    assert.are.same({{9}, {12}}, a:sum(2, true):totable())
    assert.are.equal(21, a:sum({1, 2}):item())
    assert.are.equal(6, a:max():item())
    assert.are.equal(1, a:min():item())
    local v, i = a:max(2)
    assert.are.same({5, 6}, v:totable())
    assert.are.same({2, 3}, i:totable())
    assert.are.equal("int64", i:dtype())
    assert.are.same({1, 2}, a:argmin(2):totable())
    assert.are.equal(6, a:argmax():item())
    assert.are.equal(BIG + BIG, cnn.tensor({BIG, BIG}, "int64"):sum():item())
    assert.are.equal(0, cnn.zeros({0}, "int64"):sum():item())
    H.errors(function() return cnn.zeros({0}, "int64"):max() end, "cnn.max: max of an empty tensor")
    H.errors(function() return a:mean() end, "cnn.mean: self: expected a float32 or float64 tensor, got int64 [2,3]")
  end)

  it("argmax, argmin and max/min indices of float tensors are int64, 1-based", function()
    local x = cnn.tensor({{0.1, 0.9, 0.5}, {0.7, 0.2, 0.1}})
    local i = x:argmax(2)
    assert.are.equal("int64", i:dtype())
    assert.are.same({2, 1}, i:totable())
    assert.are.equal("integer", math.type(i[1]))
    assert.are.same({1, 3}, x:argmin(2):totable())
    assert.are.equal(2, x:argmax():item())
    local _, j = x:max(1)
    assert.are.equal("int64", j:dtype())
    assert.are.same({2, 1, 1}, j:totable())
    -- max over a dim still backpropagates to the winner (its saved indices are int64 now)
    local w = cnn.tensor({{1, 3}, {4, 2}}, {dtype = "float64", requires_grad = true})
    local m = w:max(2)
    assert.are.same({{0, 1}, {1, 0}}, cnn.grad(m:sum(), {w})[1]:totable())
    assert.are.equal("int64", cnn.randint(0, 5, {3}):dtype())          -- as PyTorch
    assert.are.equal("float64", cnn.randint(0, 5, {3}, "float64"):dtype())
    assert.are.equal("int64", cnn.randint(0, 5, {3}, {}):dtype())
    local p = cnn.randperm(6, 1)
    assert.are.equal("int64", p:dtype())
    local sorted = p:totable()
    table.sort(sorted)
    assert.are.same({1, 2, 3, 4, 5, 6}, sorted)
  end)
end)
