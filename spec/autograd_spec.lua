local cnn = require "cnn"
local H = require "helpers"

describe("autograd", function()
  it("differentiates x*x summed", function()
    local x = cnn.tensor({1, 2, 3}, {requires_grad = true})
    local y = (x * x):sum()
    y:backward()
    H.close(x.grad, {2, 4, 6}, 0)
  end)

  it("accumulates across backward calls until zeroed", function()
    local x = cnn.tensor({1, 2}, {dtype = "float64", requires_grad = true})
    local _ = (x * 3):sum():backward()
    local _ = (x * 3):sum():backward()
    H.close(x.grad, {6, 6}, 0)
    x:zero_grad()
    H.close(x.grad, {0, 0}, 0)
  end)

  it("gives every leaf its own gradient storage, never the caller's or another leaf's", function()
    local a = cnn.tensor({1, 2, 3}, {requires_grad = true})
    local b = cnn.tensor({4, 5, 6}, {requires_grad = true})
    local c = cnn.tensor({7, 8, 9}, {requires_grad = true})
    local g = cnn.tensor({1, 1, 1})
    ;(a + b + c * 1):backward(g)
    a.grad:mul_(10); c.grad:mul_(100)
    H.close(b.grad, {1, 1, 1}, 0)
    H.close(g, {1, 1, 1}, 0)
    local d = cnn.tensor({1, 2}, {requires_grad = true})
    d:exp():sum():backward()                       -- the exp backward's fresh tensor is taken
    H.close(d.grad, {math.exp(1), math.exp(2)}, 1e-6)
  end)

  it("refuses a second backward unless the graph was retained", function()
    local x = cnn.tensor({1, 2}, {dtype = "float64", requires_grad = true})
    local y = (x * x):sum()
    y:backward({retain_graph = true})
    y:backward()
    H.close(x.grad, {4, 8}, 0)
    H.errors(function() y:backward() end, "cnn.backward: trying to backward through the graph a second time")
  end)

  it("reduces broadcast gradients to the input shape", function()
    local a = cnn.randn({3, 1}, {dtype = "float64", requires_grad = true})
    local b = cnn.randn({1, 4}, {dtype = "float64", requires_grad = true})
    H.gradcheck(function(x, y) return x * y + x / (y * y + 1) end, {a, b})
  end)

  it("gradchecks matmul in its 1-D, 2-D and batched forms", function()
    local f64 = {dtype = "float64", requires_grad = true}
    H.gradcheck(function(a, b) return a:matmul(b) end, {cnn.randn({3, 4}, f64), cnn.randn({4, 2}, f64)})
    H.gradcheck(function(a, b) return a:matmul(b) end, {cnn.randn({4}, f64), cnn.randn({4, 2}, f64)})
    H.gradcheck(function(a, b) return a:matmul(b) end, {cnn.randn({2, 3, 4}, f64), cnn.randn({4}, f64)})
    H.gradcheck(function(a, b) return a:matmul(b) end, {cnn.randn({2, 3, 4}, f64), cnn.randn({4, 5}, f64)})
    H.gradcheck(function(a, b) return a:matmul(b) end, {cnn.randn({2, 1, 3, 4}, f64), cnn.randn({3, 4, 2}, f64)})
  end)

  it("cnn.grad leaves .grad alone", function()
    local x = cnn.tensor({1, 2, 3}, {dtype = "float64", requires_grad = true})
    local g = cnn.grad((x:exp()):sum(), {x})
    H.close(g[1], x:detach():exp(), 1e-12)
    assert.is_nil(x.grad)
  end)

  it("frees the graph: no tensor bytes outlive a training-like step", function()
    H.no_leak(function()
      local w = cnn.randn({5, 3}, {requires_grad = true})
      for _ = 1, 3 do
        local loss = (cnn.randn(4, 5):matmul(w)):relu():mean()
        loss:backward()
      end
      w = nil
    end)
  end)
end)

describe("autograd through max over a dimension", function()
  it("keeps the saved indices intact when returning 1-based ones", function()
    local x = cnn.tensor({{1, 5, 2}, {7, 0, 3}}, {dtype = "float64", requires_grad = true})
    local v, i = x:max(2, true)
    H.close(i, {{2}, {1}}, 0)
    v:sum():backward()
    H.close(x.grad, {{0, 1, 0}, {1, 0, 0}}, 0)
  end)
end)

-- Every differentiable op of the tensor core, checked against central differences in float64,
-- then a few gradients against numbers worked out by hand.
describe("gradcheck of every tensor-core op", function()
  local f64 = {dtype = "float64", requires_grad = true}
  local function rn(...) return cnn.randn({...}, f64) end
  -- positive inputs for log, sqrt, pow bases: away from 0 so differences stay smooth
  local function pos(...) return (cnn.rand({...}, "float64") + 0.5):requires_grad(true) end
  before_each(function() cnn.manual_seed(99) end)

  it("arithmetic with broadcasting and numbers", function()
    local a, b, c = rn(2, 3), rn(3), rn(2, 1)
    H.gradcheck(function(x, y) return x + y end, {a, b})
    H.gradcheck(function(x, y) return x - y end, {a, c})
    H.gradcheck(function(x, y) return x * y end, {c, b})
    H.gradcheck(function(x, y) return x / y end, {a, pos(2, 1)})
    H.gradcheck(function(x) return 3 - x * 2 + 1 / (x * x + 1) end, {a})
    H.gradcheck(function(x) return -x end, {a})
    H.gradcheck(function(x, y) return x:maximum(y) end, {a, b})
    H.gradcheck(function(x, y) return cnn.minimum(x, y) end, {c, b})
    local s = cnn.randn({}, f64)                       -- a 0-d operand
    H.gradcheck(function(x, y) return x * y end, {a, s})
  end)

  it("pow on both sides", function()
    H.gradcheck(function(x, y) return x ^ y end, {pos(2, 3), rn(3)})
    H.gradcheck(function(x) return x ^ 3 end, {rn(4)})
    H.gradcheck(function(x) return x ^ 0.5 end, {pos(4)})
    H.gradcheck(function(x) return 2 ^ x end, {rn(4)})
    H.gradcheck(function(x) return x:pow(2.5) end, {pos(3)})
  end)

  it("unary functions", function()
    local x, p = rn(3, 4), pos(3, 4)
    for _, name in ipairs({"exp", "abs", "sigmoid", "tanh", "relu", "square", "neg"}) do
      H.gradcheck(function(t) return t[name](t) end, {x})
    end
    for _, name in ipairs({"log", "sqrt", "reciprocal"}) do
      H.gradcheck(function(t) return t[name](t) end, {p})
    end
    H.gradcheck(function(t) return t:clamp(-0.5, 0.5) end, {x})
    H.gradcheck(function(t) return t:clamp(0) end, {x})
    H.gradcheck(function(t) return t:clamp(nil, 0.3) end, {x})
    -- steps have zero gradient almost everywhere
    H.gradcheck(function(t) return t:sign() + t:floor() + t:ceil() + t:round() + t end, {x})
  end)

  it("reductions over all and over a dim", function()
    local x = rn(3, 4)
    for _, name in ipairs({"sum", "mean", "var", "std", "max", "min"}) do
      H.gradcheck(function(t) return t[name](t) end, {x})
      H.gradcheck(function(t) return t[name](t, 1) end, {x})
      H.gradcheck(function(t) return t[name](t, -1, true) end, {x})
    end
    H.gradcheck(function(t) return t:var(2, false, false) end, {x})
    H.gradcheck(function(t) return t:transpose(1, 2):sum(2) end, {x})
    H.gradcheck(function(t) local v = t:max(2); return v end, {rn(2, 3, 2)})
  end)

  it("every view op", function()
    local x = rn(2, 3, 4)
    H.gradcheck(function(t) return t:view(6, 4) end, {x})
    H.gradcheck(function(t) return t:view(-1) end, {x})
    H.gradcheck(function(t) return t:transpose(1, 3):reshape(4, 6) end, {x})
    H.gradcheck(function(t) return t:transpose(2, 3) end, {x})
    H.gradcheck(function(t) return t:permute({3, 1, 2}) end, {x})
    H.gradcheck(function(t) return t[1]:t() end, {x})
    H.gradcheck(function(t) return t:narrow(2, 2, 2) end, {x})
    H.gradcheck(function(t) return t:select(3, -1) end, {x})
    H.gradcheck(function(t) return t[2] end, {x})
    H.gradcheck(function(t) return t:unsqueeze(2):squeeze() end, {x})
    H.gradcheck(function(t) return t:view(2, 1, 12):squeeze(2) end, {x})
    H.gradcheck(function(t) return t:narrow(3, 1, 1):expand(2, 3, 5) end, {x})
    H.gradcheck(function(t) return t:unsqueeze(1):expand(2, -1, -1, -1) end, {x})
    H.gradcheck(function(t) return t:flatten(2) end, {x})
    H.gradcheck(function(t) return t:transpose(1, 2):flatten() end, {x})
    H.gradcheck(function(t) return t:transpose(1, 2):contiguous() end, {x})
    H.gradcheck(function(t) return t:clone() * 2 end, {x})
    H.gradcheck(function(t) return t:to("float32"):to("float64") end, {x}, {atol = 1e-3, eps = 1e-3})
    H.gradcheck(function(t) return t:split(2, 3)[2] * t:chunk(2, 3)[1] end, {x})
  end)

  it("cat, stack, index_select, where, masked_fill", function()
    local a, b = rn(2, 3), rn(1, 3)
    H.gradcheck(function(x, y) return cnn.cat({x, y, x}, 1) end, {a, b})
    H.gradcheck(function(x, y) return cnn.cat({x:t(), y:t()}, 2) end, {a, b})
    H.gradcheck(function(x, y) return cnn.stack({x, y[1]:expand(2, 3)}, 2) end, {a, b})
    H.gradcheck(function(x) return x:index_select(2, {3, 1, 3}) end, {a})
    H.gradcheck(function(x) return x:index_select(1, cnn.tensor({2, 2})) end, {a})
    local cond = cnn.tensor({{1}, {0}})
    H.gradcheck(function(x, y) return cnn.where(cond, x, y) end, {a, b})
    H.gradcheck(function(x) return cnn.where(cnn.tensor({1, 0, 1}), x, 0) end, {a})
    H.gradcheck(function(x) return cnn.where(x:gt(0), x, x * 0.1) end, {a})
    H.gradcheck(function(x) return x:masked_fill(cnn.tensor({0, 1, 0}), 7) end, {a})
    H.gradcheck(function(x) return x:masked_fill(x:lt(0), 0) * x end, {a})
  end)

  it("matmul forms, including transposed and broadcast operands", function()
    H.gradcheck(function(x, y) return x:t():matmul(y) end, {rn(4, 3), rn(4, 2)})
    H.gradcheck(function(x, y) return x:matmul(y:t()) end, {rn(3, 4), rn(2, 4)})
    H.gradcheck(function(x, y) return x:matmul(y) end, {rn(4), rn(4)})
    H.gradcheck(function(x, y) return x:matmul(y) end, {rn(3, 4), rn(4)})
    H.gradcheck(function(x, y) return x:matmul(y) end, {rn(2, 3, 4), rn(2, 4, 2)})
    H.gradcheck(function(x, y) return x:matmul(y) end, {rn(4), rn(2, 4, 3)})
    H.gradcheck(function(x, y) return x:transpose(2, 3):matmul(y) end, {rn(2, 4, 3), rn(1, 4, 2)})
    H.gradcheck(function(x, y) return x:matmul(y:expand(2, 4, 2)) end, {rn(2, 3, 4), rn(1, 4, 2)})
  end)

  it("a composite expression mixing dtypes of constants", function()
    local x = rn(3, 3)
    H.gradcheck(function(t)
      local h = (t:matmul(t:t()) + cnn.eye(3, "float64")):tanh()
      return cnn.cat({h:sum(1, true), h:var(2):view(1, 3)}, 1):sigmoid()
    end, {x})
  end)
end)

describe("gradients against hand-computed values", function()
  it("product, quotient and power rules", function()
    local a = cnn.tensor({1, 2, 3}, {dtype = "float64", requires_grad = true})
    local b = cnn.tensor({4, 5, 6}, {dtype = "float64", requires_grad = true})
    local g = cnn.grad((a * b + a / b):sum(), {a, b})
    H.close(g[1], {4 + 1 / 4, 5 + 1 / 5, 6 + 1 / 6}, 1e-15)            -- b + 1/b
    H.close(g[2], {1 - 1 / 16, 2 - 2 / 25, 3 - 3 / 36}, 1e-15)         -- a - a/b^2
    g = cnn.grad((a ^ 2):sum(), {a})
    H.close(g[1], {2, 4, 6}, 1e-15)
    g = cnn.grad((2 ^ a):sum(), {a})
    H.close(g[1], {2 * math.log(2), 4 * math.log(2), 8 * math.log(2)}, 1e-14)
  end)

  it("broadcast gradients are summed back to the input shape", function()
    local col = cnn.tensor({{1}, {2}}, {requires_grad = true})
    local row = cnn.tensor({10, 20, 30}, {requires_grad = true})
    local g = cnn.grad((col * row):sum(), {col, row})
    assert.are.same({{60}, {60}}, g[1]:totable())
    assert.are.same({3, 3, 3}, g[2]:totable())
  end)

  it("reductions and selections", function()
    local x = cnn.tensor({{1, 5, 2}, {7, 0, 7}}, {requires_grad = true})
    H.close(cnn.grad(x:mean(), {x})[1], {{1 / 6, 1 / 6, 1 / 6}, {1 / 6, 1 / 6, 1 / 6}}, 1e-7)
    assert.are.same({{0, 0, 0}, {0.5, 0, 0.5}}, cnn.grad(x:max(), {x})[1]:totable())      -- ties split
    assert.are.same({{0, 1, 0}, {1, 0, 0}}, cnn.grad(x:max(2):sum(), {x})[1]:totable())   -- chosen index
    assert.are.same({{0, 0, 0}, {1, 1, 1}}, cnn.grad(x[2]:sum(), {x})[1]:totable())
    assert.are.same({{2, 0, 1}, {2, 0, 1}}, cnn.grad(x:index_select(2, {1, 3, 1}):sum(), {x})[1]:totable())
    local v = cnn.tensor({1, 2, 3, 4}, {dtype = "float64", requires_grad = true})
    -- d var / dx_i = 2 (x_i - mean) / (n - 1) = 2 (x_i - 2.5) / 3
    H.close(cnn.grad(v:var(), {v})[1], {-1, -1 / 3, 1 / 3, 1}, 1e-15)
  end)

  it("relu, abs and clamp at their kinks follow PyTorch", function()
    local x = cnn.tensor({-1, 0, 2}, {requires_grad = true})
    assert.are.same({0, 0, 1}, cnn.grad(x:relu():sum(), {x})[1]:totable())
    assert.are.same({-1, 0, 1}, cnn.grad(x:abs():sum(), {x})[1]:totable())
    assert.are.same({1, 1, 0}, cnn.grad(x:clamp(-1, 1):sum(), {x})[1]:totable())   -- bounds included
  end)

  it("where, masked_fill and cat route gradients", function()
    local a = cnn.tensor({1, 2, 3}, {requires_grad = true})
    local b = cnn.tensor({4, 5, 6}, {requires_grad = true})
    local g = cnn.grad(cnn.where(cnn.tensor({1, 0, 1}), a, b * 2):sum(), {a, b})
    assert.are.same({1, 0, 1}, g[1]:totable())
    assert.are.same({0, 2, 0}, g[2]:totable())
    assert.are.same({1, 0, 1}, cnn.grad(a:masked_fill(cnn.tensor({0, 1, 0}), 9):sum(), {a})[1]:totable())
    g = cnn.grad((cnn.cat({a, b}) * cnn.arange(6)):sum(), {a, b})
    assert.are.same({0, 1, 2}, g[1]:totable())
    assert.are.same({3, 4, 5}, g[2]:totable())
  end)

  it("matmul: dA = dY B^T, dB = A^T dY", function()
    local A = cnn.tensor({{1, 2}, {3, 4}}, {requires_grad = true})
    local B = cnn.tensor({{5, 6}, {7, 8}}, {requires_grad = true})
    local g = cnn.grad(A:matmul(B):sum(), {A, B})
    assert.are.same({{11, 15}, {11, 15}}, g[1]:totable())
    assert.are.same({{4, 4}, {6, 6}}, g[2]:totable())
  end)

  it("float32 gradients agree with float64", function()
    cnn.manual_seed(5)
    local x64 = cnn.randn({3, 4}, {dtype = "float64", requires_grad = true})
    local x32 = x64:detach():float():requires_grad(true)
    local f = function(x) return (x:matmul(x:t()):tanh() * x:sum(2, true) + x:sigmoid():var(1):sum()):sum() end
    H.close(cnn.grad(f(x32), {x32})[1], cnn.grad(f(x64), {x64})[1], 1e-4)
  end)
end)

describe("autograd errors and leaks", function()
  it("name the function and the problem", function()
    local x = cnn.tensor({1, 2}, {requires_grad = true})
    H.errors(function() cnn.tensor({1, 2}):backward() end, "cnn.backward: the tensor does not require grad and has no grad_fn")
    H.errors(function() (x * 2):backward() end,
      "cnn.backward: a gradient can be created implicitly only for a scalar output, got float32 [2]")
    H.errors(function() (x * 2):backward(cnn.ones(3)) end, "cnn.backward: the gradient has shape [3] but the output has shape [2]")
    H.errors(function() (x * 2):backward("x") end, "cnn.backward: argument 1 (gradient): expected a tensor or an options table, got string")
    H.errors(function() cnn.grad(x:sum(), x) end, "cnn.grad: argument 2 (inputs): expected a table of tensors, got float32 [2]")
    H.errors(function() cnn.grad(x:sum(), {cnn.zeros(2)}) end, "cnn.grad: argument 2 (inputs): input 1 does not require grad")
    H.errors(function() cnn.grad(5, {x}) end, "cnn.grad: argument 1 (outputs): expected a tensor or a table of tensors, got number")
    H.errors(function() (x * 2):requires_grad(true) end, "cnn.requires_grad: only leaf tensors can be set to require grad (this one comes from 'mul')")
    local y = x:exp()
    local xd = x:detach()
    cnn.no_grad(function() xd:add_(1) end)                    -- modifies the saved input
    H.errors(function() y:sum():backward() end,
      "cnn.backward: a tensor saved by 'exp' for backward was modified in place (version 1, expected 0)")
    H.errors(function() cnn.gradcheck(function(t) return t end, {cnn.zeros(2)}) end,
      "cnn.gradcheck: argument 2 (inputs): element 1 is float32; gradcheck needs float64")
    H.errors(function() cnn.gradcheck(function(t) return t end, {cnn.zeros(2, "float64")}) end,
      "cnn.gradcheck: argument 2 (inputs): expected at least one tensor with requires_grad, got none")
  end)

  it("gradcheck reports its worst relative error and catches a wrong gradient", function()
    local x = cnn.tensor({0.5, -1, 2}, {dtype = "float64", requires_grad = true})
    local ok, worst, report = cnn.gradcheck(function(t) return t:exp() end, {x})
    assert.is_true(ok)
    assert.is_true(worst > 0 and worst < 1e-6, "worst " .. worst)
    assert.are.equal("ok", report)
    -- x * x.detach() has gradient x, half the true 2x: the check must fail and name the element
    ok, worst, report = cnn.gradcheck(function(t) return t * t:detach() end, {x})
    assert.is_false(ok)
    assert.is_true(math.abs(worst - 0.5) < 1e-6, "worst " .. worst)
    assert.truthy(report:find("input 1, element", 1, true), report)
  end)

  it("no_grad, detach, requires_grad and is_grad_enabled", function()
    local x = cnn.tensor({1, 2}, {requires_grad = true})
    assert.is_true(x:requires_grad())
    assert.is_true(x:is_leaf())
    local y = cnn.no_grad(function() return x * 2 end)
    assert.is_false(y:requires_grad())
    assert.is_true(cnn.is_grad_enabled())
    assert.is_false(pcall(cnn.no_grad, function() error("boom") end))
    assert.is_true(cnn.is_grad_enabled())                      -- restored after an error
    local d = x:detach()
    assert.is_false(d:requires_grad())
    assert.are.equal("mul", (x * 2):grad_fn())
    assert.is_nil(x:grad_fn())
    local z = cnn.zeros(2):requires_grad(true)
    assert.is_true(z:requires_grad())
  end)

  it("nothing leaks through gradchecked graphs, errors and retained graphs", function()
    H.no_leak(function()
      local x = cnn.randn({3, 4}, {dtype = "float64", requires_grad = true})
      local y = (cnn.cat({x, x:t():matmul(x)}, 1):max(2):sum() + x:var() + x:index_select(1, {1, 1}):sum())
      y:backward({retain_graph = true})
      y:backward()
      pcall(function() y:backward() end)
      local _ = cnn.grad(cnn.where(x:gt(0), x, 0):sum(), {x})
      x = nil
    end)
  end)
end)

-- Dropping a graph frees its nodes and their saved tensors; a chain of 150,000 nodes freed by
-- recursion overflowed the C stack. Each case runs in a child process, so a crash is a failure
-- of this spec and not the end of the run.
describe("what backward frees", function()
  it("frees the graph behind a loss that is kept after backward", function()
    collectgarbage(); collectgarbage()
    local before = cnn.memory()
    local x = cnn.randn({500, 500}, {requires_grad = true})      -- 1 MB, and 1 MB of gradient
    local loss = (x * 2):exp():sum()
    loss:backward()
    x = nil
    collectgarbage(); collectgarbage()
    -- only the loss remains: the graph no longer holds the leaf through its nodes
    assert.is_true(cnn.memory() - before < 1000, ("%d bytes still held"):format(cnn.memory() - before))
    assert.are.equal("sum", loss:grad_fn())
    H.errors(function() loss:backward() end, "trying to backward through the graph a second time")
  end)

  it("keeps the graph with retain_graph", function()
    local x = cnn.tensor({1, 2}, {dtype = "float64", requires_grad = true})
    local y = (x * x):sum()
    y:backward({retain_graph = true})
    y:backward()
    H.close(x.grad, {4, 8}, 0)
  end)
end)

describe("dropping a deep graph without backward", function()
  local function survives(code)
    local ok, how, status = os.execute(("bin/cnn -e %q"):format(
      "local cnn = require 'cnn'; " .. code .. "; io.write('done')") .. " > /dev/null 2>&1")
    return ok == true, ("the child process ended by %s %s"):format(how, status)
  end

  it("frees a 150,000-op chain of relu", function()
    assert(survives([[local x = cnn.randn({4}, {requires_grad = true})
      local y = x; for _ = 1, 150000 do y = y:relu() end
      y = nil; collectgarbage(); collectgarbage()
      assert(cnn.memory() < 1e6, cnn.memory())]]))
  end)

  it("frees a 120,000-step recurrent loop (saved tensors hold the previous nodes; 100,000 crashed)", function()
    assert(survives([[local w = cnn.randn({4}, {requires_grad = true})
      local x = cnn.randn({4})
      local h = cnn.zeros({4})
      for _ = 1, 120000 do h = (h * w + x):tanh() end
      h = nil; collectgarbage(); collectgarbage()
      assert(cnn.memory() < 1e6, cnn.memory())]]))
  end)
end)

describe("retain_grad", function()
  it("keeps the gradient reaching a non-leaf tensor, summed over its uses", function()
    local x = cnn.tensor({1, 2, 3}, {dtype = "float64", requires_grad = true})
    local h = x * 2
    assert.are.equal(h, h:retain_grad())
    assert.is_true(h:retains_grad())
    assert.is_false(x:retains_grad())
    local y = (h * h):sum() + h:sum() * 3        -- dy/dh = 2h + 3
    y:backward()
    H.close(h.grad, {7, 11, 15}, 0)
    H.close(x.grad, {14, 22, 30}, 0)
    local other = x * 3                           -- not retained: no .grad
    other:sum():backward()
    assert.is_nil(other.grad)
    H.close(h.grad, {7, 11, 15}, 0)               -- untouched by an unrelated pass
  end)

  it("accumulates across backward calls, and t.grad = nil resets it", function()
    local x = cnn.tensor({1, -2}, {dtype = "float64", requires_grad = true})
    local h = x:tanh():retain_grad()
    local y = (h * h):sum()
    y:backward({retain_graph = true})
    local g = h:detach() * 2
    H.close(h.grad, g, 0)
    y:backward({retain_graph = true})
    H.close(h.grad, g * 2, 0)
    h.grad = nil
    ;(h * 5):sum():backward()
    H.close(h.grad, {5, 5}, 0)
  end)

  it("keeps the root's gradient, does nothing on a leaf, refuses a tensor without grad", function()
    local x = cnn.tensor({1, 2}, {requires_grad = true})
    local loss = (x * x):sum():retain_grad()
    loss:backward()
    H.close(loss.grad, cnn.tensor(1), 0)
    x:retain_grad()
    assert.is_false(x:retains_grad())
    H.close(x.grad, {2, 4}, 0)
    H.errors(function() cnn.zeros(2):retain_grad() end,
      "cnn.retain_grad: cannot retain the gradient of a tensor that does not require grad")
    H.errors(function() cnn.retain_grad(3) end, "cnn.retain_grad: argument 1 (self): expected a tensor")
  end)

  it("leaves .grad alone under cnn.grad, as PyTorch's autograd.grad", function()
    local x = cnn.tensor({1, 2}, {dtype = "float64", requires_grad = true})
    local h = (x * 3):retain_grad()
    local g = cnn.grad((h * h):sum(), {x})
    H.close(g[1], {18, 36}, 0)
    assert.is_nil(h.grad)
  end)

  it("does not keep the retained tensor alive, and leaks nothing", function()
    H.no_leak(function()
      local x = cnn.randn({3, 4}, {requires_grad = true})
      local h = (x * 2):retain_grad()
      local y = (h:relu() * h):sum()
      h = nil
      collectgarbage(); collectgarbage()          -- h freed while y's graph still holds its node
      y:backward()
      local k = (x + 1):retain_grad()
      k:sum():backward()
      x, y, k = nil, nil, nil
    end)
  end)
end)
