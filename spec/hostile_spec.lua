-- Hostile tables: a shape, list or options table whose metamethods (__index, __len) close a
-- tensor the same call is using. The bindings read such tables raw (no Lua code runs while
-- they parse their arguments) and fetch tensor pointers last, so these calls work as if the
-- metamethods were not there, or raise a clear error; never a use-after-free (run under ASan:
-- make test-asan). Bindings: csrc/lua_*.c; helpers check_shape/check_options in lua_util.c.
local cnn = require "cnn"
local F = cnn.F

local function close(t) getmetatable(t).__close(t) end

-- a table with the given raw contents whose __len and __index close every tensor in `victims`
-- (and collect), recording that they ran
local fired
local function hostile(contents, victims)
  local function attack()
    fired = true
    for _, v in ipairs(victims) do close(v) end
    collectgarbage()
    collectgarbage()
  end
  return setmetatable(contents or {}, {
    __len = function() attack(); return 2 end,
    __index = function() attack(); return nil end,
  })
end

-- runs fn (which builds its hostile tables), which must succeed or raise a "cnn." message;
-- the metamethods must never have run
local function survives(fn)
  fired = false
  local ok, err = pcall(fn)
  assert.is_false(fired, "a metamethod ran while the binding parsed its arguments")
  if not ok then assert.matches("cnn%.", tostring(err)) end
  return ok, err
end

describe("hostile tables never run Lua code during argument parsing", function()
  it("shape tables: view, reshape, expand, zeros, permute, sum, split", function()
    local t = cnn.rand(2, 3)
    survives(function() return t:view(hostile({3, 2}, {t})) end)
    survives(function() return t:reshape(hostile({6}, {t})) end)
    survives(function() return cnn.rand(1, 3):expand(hostile({2, 3}, {t})) end)
    survives(function() return t:permute(hostile({2, 1}, {t})) end)
    survives(function() return cnn.sum(t, hostile({1, 2}, {t})) end)
    survives(function() return t:split(hostile({1, 1}, {t}), 1) end)
    survives(function() return cnn.zeros(hostile({2, 2}, {t})) end)
    assert.are.same({3, 2}, t:view(hostile({3, 2}, {t})):size())
    assert.are.equal(6, t:numel())                     -- still open
  end)

  it("cnn.tensor: nested data and options", function()
    local t = cnn.rand(2)
    survives(function() return cnn.tensor(hostile({hostile({1, 2}, {t}), {3, 4}}, {t})) end)
    survives(function() return cnn.tensor(t, hostile({dtype = "float64"}, {t})) end)
    assert.are.same({2}, t:size())
  end)

  it("conv and pool options, kernel and size pairs", function()
    local x, w = cnn.randn(1, 2, 6, 6), cnn.randn(3, 2, 3, 3)
    local ok = survives(function() return F.conv2d(x, w, nil, hostile({padding = hostile({1, 1}, {x, w})}, {x, w})) end)
    assert.is_true(ok)
    survives(function() return F.conv1d(cnn.randn(1, 2, 8), cnn.randn(3, 2, 3), nil, hostile({}, {x})) end)
    x = cnn.randn(1, 2, 6, 6)
    assert.is_true((survives(function() return F.max_pool2d(x, hostile({2, 2}, {x}), hostile({}, {x})) end)))
    assert.is_true((survives(function() return F.avg_pool2d(x, 2, hostile({stride = hostile({2, 2}, {x})}, {x})) end)))
    assert.is_true((survives(function() return F.adaptive_avg_pool2d(x, hostile({3, 3}, {x})) end)))
    assert.is_true((survives(function() return F.adaptive_max_pool2d(x, hostile({3, 3}, {x})) end)))
    assert.is_true((survives(function() return F.conv2d(x, w, nil, hostile({padding = "same"}, {x, w})) end)))
    assert.are.same({1, 2, 6, 6}, x:size())
  end)

  it("loss, batch_norm and pad options", function()
    local x, y = cnn.randn(4, 3), cnn.tensor({1, 2, 3, 1})
    local wt = cnn.ones(3)
    assert.is_true((survives(function() return F.cross_entropy(x, y, hostile({weight = wt}, {x, y, wt})) end)))
    assert.is_true((survives(function() return F.mse_loss(x, x, hostile({reduction = "sum"}, {x})) end)))
    local rm, rv = cnn.zeros(3), cnn.ones(3)
    assert.is_true((survives(function()
      return F.batch_norm(x, rm, rv, nil, nil, hostile({training = true}, {x, rm, rv}))
    end)))
    assert.is_true((survives(function() return F.pad(x, hostile({1, 1}, {x})) end)))
    local lw = cnn.ones(3)
    assert.is_true((survives(function() return F.layer_norm(x, hostile({3}, {x, lw}), lw) end)))
    assert.are.same({4, 3}, x:size())
  end)

  it("index lists: index_select, cat, stack", function()
    local t = cnn.rand(4, 2)
    assert.is_true((survives(function() return cnn.index_select(t, 1, hostile({2, 1}, {t})) end)))
    local a, b = cnn.rand(2), cnn.rand(2)
    assert.is_true((survives(function() return cnn.cat(hostile({a, b}, {a, b})) end)))
    assert.is_true((survives(function() return cnn.stack(hostile({a, b}, {a, b})) end)))
    assert.are.same({4, 2}, t:size())
  end)

  it("backward, cnn.grad and optim_step", function()
    local x = cnn.rand(3, {requires_grad = true})
    local y = (x * 2):sum()
    assert.is_true((survives(function() return y:backward(hostile({retain_graph = true}, {y, x})) end)))
    assert.is_true((survives(function() return cnn.grad(y, hostile({x}, {y, x}), hostile({}, {x, y})) end)))
    local p = cnn.rand(3)
    p.grad = cnn.ones(3)
    assert.is_true((survives(function()
      return cnn._optim.step("sgd", hostile({p}, {p}), hostile({hostile({}, {p})}, {p}), hostile({1}, {p}),
                            hostile({lr = 0.1}, {p}))
    end)))
    assert.are.same({3}, p:size())
  end)

  it("metrics and image tables", function()
    local s = cnn.rand(6)
    assert.is_true((survives(function() return cnn._metrics.roc_curve(s, hostile({0, 1, 0, 1, 1, 0}, {s})) end)))
    assert.is_true((survives(function() return cnn._metrics.quantiles(s, hostile({0.5}, {s})) end)))
    local img = cnn.rand(3, 4, 4)
    assert.is_true((survives(function()
      return cnn._data.normalize(img, hostile({0.5, 0.5, 0.5}, {img}), hostile({1, 1, 1}, {img}))
    end)))
    assert.are.same({3, 4, 4}, img:size())
  end)
end)

local H = require "helpers"

describe("a tensor closed by a finalizer during a call", function()
  -- A GC step may run inside any allocation of a binding (the result box, a table), and with it
  -- pending finalizers: here one that closes the call's own argument. The bindings fetch their
  -- tensors after their last allocation and collect (lua_util.c's gc_account) only once the
  -- result is boxed, so the call either finishes or reports the closed tensor; before, they used
  -- the freed one (ASan, make test-asan: heap-use-after-free in cnn_view).
  local calls = {
    view = function(x) return x:view(4096) end,
    add = function(x) return x + 1 end,
    relu = function(x) return x:relu() end,
    totable = function(x) return #x:totable() end,
    conv2d = function(x) return F.conv2d(x:view(1, 1, 64, 64), cnn.ones(1, 1, 3, 3)) end,
    cross_entropy = function(x) return F.cross_entropy(x, cnn.ones(64)) end,
    index_select = function(x) return cnn.index_select(x, 1, {1, 2}) end,
  }
  for name, call in pairs(calls) do
    it(name, function()
      local ran = 0
      for _ = 1, 3 do
        collectgarbage("collect")
        local x = cnn.rand(64, 64)
        local big = cnn.zeros(2 ^ 22)
        local closed = false
        do setmetatable({}, {__gc = function() close(x); closed = true end}) end
        big = nil
        collectgarbage("incremental", 0, 1000, 20)    -- every allocation runs a whole cycle's work
        local ok, err = pcall(call, x)
        collectgarbage("incremental", 200, 100, 13)
        if not ok then assert.matches("the tensor was closed", err) end
        collectgarbage("collect")
        if closed then ran = ran + 1 end
        H.errors(function() return x + 1 end, "the tensor was closed")   -- and stays closed
      end
      assert.are.equal(3, ran)
    end)
  end
end)

describe("a table changed by a finalizer between two reads of one call", function()
  it("one_hot reads its sequences again after making the result, and checks them again", function()
    local changed = 0
    for _ = 1, 3 do
      local seqs = {"ACGTACGT", "ACGTACGT"}
      collectgarbage("collect")
      local big = cnn.zeros(2 ^ 22)
      do setmetatable({}, {__gc = function() seqs[2] = "A" end}) end
      local ok, err = pcall(cnn._data.one_hot, seqs)
      if not ok then
        assert.matches("cnn.data.sequence.one_hot: argument 1 %(seqs%): sequence 2 changed while it was read", err)
      else
        assert.are.same({2, 4, 8}, err:size())
      end
      big = nil
      collectgarbage("collect")
      if seqs[2] == "A" then changed = changed + 1 end
    end
    assert.are.equal(3, changed)
  end)
end)

describe("one options check in every binding (check_options, lua_util.c)", function()
  local H = require "helpers"
  it("unknown keys raise with the function's name and the known list", function()
    local x = cnn.rand(2, 3, {requires_grad = true})
    -- lua_tensor.c (check_opts)
    H.errors(function() return cnn.zeros(2, {colour = 1}) end,
      "cnn.zeros: argument 2 (options): unknown option 'colour' (expected dtype, requires_grad)")
    H.errors(function() return cnn.arange(3, {requires_grad = true}) end,
      "cnn.arange: argument 2 (options): unknown option 'requires_grad' (expected dtype)")
    -- lua_autograd.c: retain_graph was the only key read, the others were ignored
    local y = (x * 2):sum()
    H.errors(function() y:backward({retain = true}) end,
      "cnn.backward: argument 1 (options): unknown option 'retain' (expected retain_graph)")
    H.errors(function() return cnn.grad(y, {x}, {retain = true}) end,
      "cnn.grad: argument 3 (options): unknown option 'retain' (expected retain_graph)")
    -- lua_nn.c: losses and batch_norm
    H.errors(function() return F.mse_loss(x, x, {reduce = "sum"}) end,
      "cnn.mse_loss: argument 3 (options): unknown option 'reduce' (expected reduction)")
    H.errors(function() return F.batch_norm(cnn.rand(2, 3), nil, nil, nil, nil, {training = true, [1] = 2}) end,
      "cnn.batch_norm: argument 6 (options): unknown option of type number (expected training, momentum, eps)")
    -- lua_conv.c
    H.errors(function() return F.max_pool2d(cnn.rand(1, 1, 4, 4), 2, {pad = 1}) end,
      "cnn.max_pool2d: argument 3 (options): unknown option 'pad' (expected stride, padding, dilation, ceil_mode)")
    -- lua_util.c, for the Lua modules
    H.errors(function() return cnn._util.check_options("cnn.metrics.auc_ci", 3, {nboot = 10}, {"level", "n_boot"}) end,
      "cnn.metrics.auc_ci: argument 3 (options): unknown option 'nboot' (expected level, n_boot)")
  end)

  it("values come from the table itself, never from its metatable", function()
    local o = setmetatable({}, {__index = {dtype = "float64"}})
    assert.are.equal("float32", cnn.zeros(2, o):dtype())
    assert.are.equal("float64", cnn.zeros(2, {dtype = "float64"}):dtype())
    H.errors(function() return cnn.zeros(2, {dtype = "int8"}) end,
      "cnn.zeros: argument 2 (options): expected \"float32\", \"float64\" or \"int64\", got \"int8\"")
  end)
end)

describe("messages name the function the user called", function()
  local H = require "helpers"
  it("an optimizer's step, not the internal optim_step", function()
    local p = cnn.rand(3, {requires_grad = true})
    local opt = cnn.optim.Adam({p}, {lr = 0.1})
    p.grad = cnn.ones(3):double()
    H.errors(function() opt:step() end, "cnn.optim.Adam:step: adam: parameter 1 is float32 [3] but its gradient is float64 [3]")
  end)
end)
