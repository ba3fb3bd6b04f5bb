-- PyTorch parity of the core's tensor ops and the functional ops: each case in
-- fixtures/ops_*.lua (written by gen_ops.py) gives inputs, PyTorch's output and the gradients of
-- sum(out * gout); both dtypes are checked, float64 to rtol 1e-10 and float32 to rtol 1e-4.
local cnn = require "cnn"
local F = cnn.F

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec/parity"
local TOL = { float64 = { rtol = 1e-10, atol = 1e-12 }, float32 = { rtol = 1e-4, atol = 1e-5 } }

-- options of a loss or norm: numeric weight/pos_weight fields name an input by position
local function opts(args, ins, keys)
  local o = {}
  for _, k in ipairs(keys) do
    local v = args[k]
    if (k == "weight" or k == "pos_weight") and v then v = ins[v] end
    o[k] = v
  end
  return o
end

local LOSS = { "reduction", "weight", "pos_weight", "ignore_index", "delta", "beta", "margin", "p" }

local ops = {
  add = function(a, b) return a + b end,
  sub = function(a, b) return a - b end,
  mul = function(a, b) return a * b end,
  div = function(a, b) return a / b end,
  pow = function(a, b) return a:pow(b) end,
  pow_scalar = function(a, g) return a:pow(g.p) end,
  add_scalar = function(a, g) return a + g.s end,
  matmul = function(a, b) return a:matmul(b) end,
  sum = function(a, g) return g.dim and a:sum(g.dim, g.keepdim) or a:sum() end,
  mean = function(a, g) return a:mean(g.dim) end,
  max = function(a, g) return (a:max(g.dim)) end,
  min = function(a, g) return (a:min(g.dim)) end,
  var = function(a, g) return a:var(g.dim, false, g.unbiased ~= false) end,
  views = function(a) return a:permute(3, 1, 2):reshape(4, 6):narrow(2, 2, 4):t() end,
  select = function(a) return a:select(3, 2):squeeze(2):unsqueeze(1) end,
  expand = function(a) return a:expand(2, 3, 4) * 1.0 end,
  cat = function(a, b, c, g) return cnn.cat({a, b, c}, g.dim) end,
  stack = function(a, b, g) return cnn.stack({a, b}, g.dim) end,
  index_select = function(a, g) return a:index_select(g.dim, g.index) end,
  where = function(m, a, b) return cnn.where(m, a, b) end,
  exp = function(a) return a:exp() end, tanh = function(a) return a:tanh() end,
  sigmoid = function(a) return F.sigmoid(a) end, relu = function(a) return F.relu(a) end,
  abs = function(a) return a:abs() end, neg = function(a) return -a end,
  log = function(a) return a:log() end, sqrt = function(a) return a:sqrt() end,
  clamp = function(a, g) return a:clamp(g.min, g.max) end,
  leaky_relu = function(x, g) return F.leaky_relu(x, g.a) end,
  rrelu = function(x, g) return F.rrelu(x, g.a, g.b, false) end,
  prelu = function(x, w) return F.prelu(x, w) end,
  elu = function(x, g) return F.elu(x, g.a) end,
  selu = function(x) return F.selu(x) end,
  hardtanh = function(x, g) return F.hardtanh(x, g.a, g.b) end,
  softsign = function(x) return F.softsign(x) end,
  softplus = function(x, g) return F.softplus(x, g.a, g.b) end,
  gelu = function(x, g) return F.gelu(x, g.approximate) end,
  silu = function(x) return F.silu(x) end,
  mish = function(x) return F.mish(x) end,
  softmax = function(x, g) return F.softmax(x, g.dim) end,
  log_softmax = function(x, g) return F.log_softmax(x, g.dim) end,
  linear = function(x, w, b) return F.linear(x, w, cnn.is_tensor(b) and b or nil) end,
  batch_norm = function(...)
    local ins = { ... }
    local g = ins[#ins]
    local o = { training = g.training, momentum = g.momentum, eps = g.eps }
    if g.no_stats then return F.batch_norm(ins[1], nil, nil, nil, nil, o) end
    return F.batch_norm(ins[1], ins[2], ins[3], ins[4], ins[5], o)
  end,
  layer_norm = function(...)
    local ins = { ... }
    local g = table.remove(ins)
    return F.layer_norm(ins[1], g.shape, ins[2], ins[3], g.eps)
  end,
  group_norm = function(...)
    local ins = { ... }
    local g = table.remove(ins)
    return F.group_norm(ins[1], g.groups, ins[2], ins[3], g.eps)
  end,
  pad = function(x, g) return F.pad(x, g.pads, g.mode, g.value) end,
  flatten = function(x, g) return F.flatten(x, g.start) * 1.0 end,
}
for _, name in ipairs { "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
                        "binary_cross_entropy_with_logits", "hinge_embedding_loss", "cross_entropy",
                        "nll_loss", "multi_margin_loss" } do
  ops[name] = function(...)
    local ins = { ... }
    local g = table.remove(ins)
    return F[name](ins[1], ins[2], opts(g, ins, LOSS))
  end
end

local function build(inp, dtype)
  local flat = cnn.tensor(inp.data, "float64"):view(inp.shape)
  local leaf = cnn.tensor(flat, { dtype = dtype, requires_grad = inp.grad })
  local x = leaf
  if inp.transpose then x = leaf:transpose(inp.transpose[1], inp.transpose[2]) end
  return leaf, x
end

-- |a - b| <= atol + rtol |b| everywhere (NaN only where PyTorch has NaN)
local function check(got, want, tol, what)
  local w = cnn.tensor(want.data, "float64"):view(want.shape)
  local shape = got:size()
  assert(#shape == #want.shape, ("%s: %d dims, expected %d"):format(what, #shape, #want.shape))
  for i = 1, #shape do
    assert(shape[i] == want.shape[i], ("%s: size %d is %d, expected %d"):format(what, i, shape[i], want.shape[i]))
  end
  local g = got:double():contiguous():view(-1)
  local wf = w:contiguous():view(-1)
  for i = 1, #want.data do
    local a, b = g[i], wf[i]
    if b ~= b then
      assert(a ~= a, ("%s: element %d is %.17g, expected NaN"):format(what, i, a))
    else
      local err = math.abs(a - b)
      assert(err <= tol.atol + tol.rtol * math.abs(b),
        ("%s: element %d is %.17g, expected %.17g (error %g)"):format(what, i, a, b, err))
    end
  end
end

local function run(cs, dtype)
  local leaves, xs = {}, {}
  for i, inp in ipairs(cs.inputs) do leaves[i], xs[i] = build(inp, dtype) end
  xs[#xs + 1] = cs.args
  local out = ops[cs.op](table.unpack(xs, 1, #cs.inputs + 1))
  local ref = cs[dtype == "float64" and "f64" or "f32"]
  check(out, ref.out, TOL[dtype], cs.name .. " (" .. dtype .. ") output")
  local want = {}
  for i, inp in ipairs(cs.inputs) do if inp.grad then want[#want + 1] = i end end
  if #want == 0 then return end
  local gout = cnn.tensor(cnn.tensor(cs.gout.data, "float64"):view(cs.gout.shape), dtype)
  out:backward(gout)
  for _, i in ipairs(want) do
    assert(ref.grads[i], cs.name .. ": PyTorch gave no gradient for input " .. i)
    check(leaves[i].grad, ref.grads[i], TOL[dtype], ("%s (%s) gradient %d"):format(cs.name, dtype, i))
  end
end

for _, file in ipairs { "ops_core", "ops_act", "ops_loss", "ops_nn" } do
  describe("PyTorch parity, " .. file, function()
    local cases = dofile(here .. "/fixtures/" .. file .. ".lua")
    for _, cs in ipairs(cases) do
      it(cs.name, function()
        run(cs, "float64")
        run(cs, "float32")
      end)
    end
  end)
end
