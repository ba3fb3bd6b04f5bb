local cnn = require "cnn"
local H = require "helpers"
local nn, optim = cnn.nn, cnn.optim

-- a tiny regression net and data, the same for every optimizer
local function setup()
  cnn.manual_seed(11)
  local m = nn.Sequential{ nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1) }
  local x = cnn.randn(32, 3)
  return m, x, x:sum(2, true):tanh()
end

local function train(m, opt, x, y, steps)
  local first, last
  for i = 1, steps do
    opt:zero_grad()
    local loss = (m(x) - y):square():mean()
    loss:backward()
    opt:step()
    first = first or loss:item()
    last = loss:item()
  end
  return first, last
end

describe("cnn.optim", function()
  for _, case in ipairs({
    { "SGD", { lr = 0.1, momentum = 0.9 } }, { "SGD", { lr = 0.1, momentum = 0.9, nesterov = true } },
    { "Adam", { lr = 0.05 } }, { "AdamW", { lr = 0.05 } }, { "Adam", { lr = 0.05, amsgrad = true } },
    { "RMSprop", { lr = 0.01 } }, { "RMSprop", { lr = 0.01, momentum = 0.5, centered = true } },
    { "Adagrad", { lr = 0.1 } },
  }) do
    it(case[1] .. " makes the loss fall", function()
      local m, x, y = setup()
      local first, last = train(m, optim[case[1]](m:parameters(), case[2]), x, y, 30)
      assert.is_true(last < 0.3 * first, ("loss went from %g to %g"):format(first, last))
    end)
  end

  it("trains a small CNN with each optimizer", function()
    for _, name in ipairs({ "SGD", "Adam", "AdamW", "RMSprop", "Adagrad" }) do
      cnn.manual_seed(5)
      local m = nn.Sequential{ nn.Conv2d(1, 4, 3, { padding = 1 }), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 2) }
      local x = cnn.randn(16, 1, 8, 8)
      local y = x:narrow(3, 1, 4):mean({ 2, 3, 4 }):gt(0) + 1
      local opt = optim[name](m, { lr = name == "SGD" and 0.1 or 0.01 })
      local first, last
      for _ = 1, 25 do
        opt:zero_grad()
        local loss = cnn.F.cross_entropy(m(x), y)
        loss:backward(); opt:step()
        first = first or loss:item(); last = loss:item()
      end
      assert.is_true(last < 0.7 * first, name .. (": loss went from %g to %g"):format(first, last))
    end
  end)

  it("does plain SGD by hand: w - lr * grad", function()
    local w = cnn.tensor({ 1, 2, 3 }, { dtype = "float64", requires_grad = true })
    local opt = optim.SGD({ w }, { lr = 0.5 })
    ;(w * w):sum():backward()
    opt:step()
    H.close(w, { 0, 0, 0 }, 0)
  end)

  it("updates large parameter sets the same at 1 and 2 threads, bit for bit", function()
    -- the update is cut into chunks the threads share (op_optim.c); each element's update is
    -- its own, so the thread count must not change a bit; the second Adam step checks the
    -- state carried over. Sizes: not multiples of the chunk, one empty parameter.
    local was = cnn.get_num_threads()
    finally(function() cnn.set_num_threads(was) end)
    for _, mk in ipairs({
      function(ps) return optim.SGD(ps, {lr = 0.1, momentum = 0.9, weight_decay = 1e-3, nesterov = true}) end,
      function(ps) return optim.Adam(ps, {lr = 1e-2, amsgrad = true}) end,
      function(ps) return optim.RMSprop(ps, {lr = 1e-2, momentum = 0.5, centered = true}) end,
    }) do
      local results = {}
      for _, threads in ipairs({1, 2}) do
        cnn.set_num_threads(threads)
        cnn.manual_seed(8)
        local ps = { cnn.randn({70001}, {requires_grad = true}), cnn.randn({0}, {requires_grad = true}),
                     cnn.randn({300, 257}, {requires_grad = true}), cnn.randn({5}, {requires_grad = true}) }
        local opt = mk(ps)
        for _ = 1, 2 do
          for _, p in ipairs(ps) do p.grad = cnn.randn(p:size()) end
          opt:step()
        end
        results[threads] = ps
      end
      for i = 1, 4 do
        if i ~= 2 then assert.are.equal(0, H.maxdiff(results[1][i], results[2][i])) end
      end
    end
  end)

  it("skips parameters without gradients and honours per-group options", function()
    local a = cnn.ones({ 2 }, { requires_grad = true })
    local b = cnn.ones({ 2 }, { requires_grad = true })
    local c = cnn.ones({ 2 }, { requires_grad = true })
    local opt = optim.SGD({ { params = { a }, lr = 1 }, { params = { b, c } } }, { lr = 0.1 })
    ;(a + b):sum():backward()
    opt:step()
    H.close(a, { 0, 0 }, 1e-7); H.close(b, { 0.9, 0.9 }, 1e-7); H.close(c, { 1, 1 }, 0)
    assert.equal(0.1, opt.param_groups[2].lr)
  end)

  it("state_dict and load_state_dict continue a run exactly", function()
    local m, x, y = setup()
    local opt = optim.Adam(m, { lr = 0.01 })
    train(m, opt, x, y, 3)
    local m2 = nn.Sequential{ nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1) }
    m2:load_state_dict(m:state_dict())
    local opt2 = optim.Adam(m2, { lr = 0.5 })
    opt2:load_state_dict(opt:state_dict())
    assert.equal(0.01, opt2.param_groups[1].lr)
    train(m, opt, x, y, 2); train(m2, opt2, x, y, 2)
    H.close(m[1].weight, m2[1].weight, 0)
  end)

  it("clip_grad_norm_ scales gradients to the norm", function()
    local w = cnn.tensor({ 3, 4 }, { dtype = "float64", requires_grad = true })
    ;(w * w):sum():backward()          -- grad (6, 8), norm 10
    local n = nn.utils.clip_grad_norm_({ w }, 5)
    assert.near(10, n, 1e-12)
    H.close(w.grad, { 3, 4 }, 1e-5)
  end)

  it("clip_grad_norm_ takes a module, a tensor or a list of tensors, and refuses anything else", function()
    local m = nn.Linear(2, 1, false)
    cnn.no_grad(function() m.weight:copy_(cnn.tensor({ { 3, 4 } })) end)
    ;(m.weight * m.weight):sum():backward()      -- grad (6, 8), norm 10
    assert.near(10, nn.utils.clip_grad_norm_(m, 5), 1e-5)
    H.close(m.weight.grad, { { 3, 4 } }, 1e-5)
    assert.near(5, nn.utils.clip_grad_norm_(m.weight, 1), 1e-4)
    H.errors(function() nn.utils.clip_grad_norm_({ 1 }, 1) end,
      "cnn.nn.utils.clip_grad_norm_: argument 1 (parameters[1]): expected a tensor, got 1")
    H.errors(function() nn.utils.clip_grad_norm_("w", 1) end,
      "cnn.nn.utils.clip_grad_norm_: argument 1 (parameters): expected a module, a tensor or a list of tensors, got \"w\"")
    H.errors(function() nn.utils.clip_grad_norm_(m, 1, 0) end, "cnn.nn.utils.clip_grad_norm_: argument 3 (norm_type)")
  end)

  it("clip_grad_value_ clamps every gradient in place", function()
    local w = cnn.tensor({ -3, -0.5, 0.2, 4 }, { dtype = "float64", requires_grad = true })
    local v = cnn.tensor({ { 1, -2 } }, { requires_grad = true })
    ;((w * w):sum() + (v * v):sum() * 0.25):backward()    -- grads (-6, -1, 0.4, 8) and (0.5, -1)
    local g = w.grad
    assert.is_nil(nn.utils.clip_grad_value_({ w, v }, 0.75))
    H.close(w.grad, { -0.75, -0.75, 0.4, 0.75 }, 0)
    H.close(v.grad, { { 0.5, -0.75 } }, 0)
    H.close(g, { -0.75, -0.75, 0.4, 0.75 }, 0)          -- in place: a reference taken before sees it
    nn.utils.clip_grad_value_(w, 0.1)
    H.close(w.grad, { -0.1, -0.1, 0.1, 0.1 }, 1e-17)
    nn.utils.clip_grad_value_(w, 0)
    H.close(w.grad, { 0, 0, 0, 0 }, 0)
  end)

  it("clip_grad_value_ takes a module, a tensor or a list of tensors, and refuses anything else", function()
    local m = nn.Linear(2, 1)
    cnn.no_grad(function() m.weight:copy_(cnn.tensor({ { 3, -4 } })) end)
    ;(m.weight * m.weight):sum():backward()      -- weight grad (6, -8); the bias has none
    nn.utils.clip_grad_value_(m, 5)
    H.close(m.weight.grad, { { 5, -5 } }, 0)
    assert.is_nil(m.bias.grad)
    H.errors(function() nn.utils.clip_grad_value_({ 1 }, 1) end,
      "cnn.nn.utils.clip_grad_value_: argument 1 (parameters[1]): expected a tensor, got 1")
    H.errors(function() nn.utils.clip_grad_value_("w", 1) end,
      "cnn.nn.utils.clip_grad_value_: argument 1 (parameters): expected a module, a tensor or a list of tensors, got \"w\"")
    H.errors(function() nn.utils.clip_grad_value_(m) end,
      "cnn.nn.utils.clip_grad_value_: argument 2 (clip_value): expected a number, got nil")
    H.errors(function() nn.utils.clip_grad_value_(m, -1) end,
      "cnn.nn.utils.clip_grad_value_: argument 2 (clip_value): expected a number in [0, inf], got -1")
    H.errors(function() nn.utils.clip_grad_value_(m, 0 / 0) end,
      "cnn.nn.utils.clip_grad_value_: argument 2 (clip_value): expected a number")
  end)

  it("optimizers take a module, a tensor, a list of tensors or of groups, and refuse anything else", function()
    local m = nn.Linear(2, 2)
    assert.are.equal(2, #optim.SGD(m, { lr = 0.1 }).param_groups[1].params)
    assert.are.equal(1, #optim.SGD(m.weight, { lr = 0.1 }).param_groups[1].params)
    local o = optim.Adam({ { params = { m.weight } }, { params = m.bias, lr = 0.5 } }, { lr = 0.1 })
    assert.are.same({ 0.1, 0.5 }, { o.param_groups[1].lr, o.param_groups[2].lr })
    H.errors(function() optim.SGD({ 1 }) end, "cnn.optim.SGD: argument 1 (group): expected a table {params = ...}, got 1")
    H.errors(function() optim.SGD({ m.weight, 1 }) end, "cnn.optim.SGD: argument 1 (params[2]): expected a tensor, got 1")
    H.errors(function() optim.SGD(nn.ReLU()) end, "cnn.optim.SGD: argument 1 (params): got an empty parameter list")
    H.errors(function() optim.SGD({ { params = { m.weight }, lr = -1 } }) end, "cnn.optim.SGD: argument 1 (lr): expected a number in [0, inf], got -1")
    H.errors(function() optim.SGD({ m.weight, m.weight }) end, "cnn.optim.SGD: a parameter appears twice in one group")
    H.errors(function() o:add_param_group({ params = { m.weight } }) end, "cnn.optim.Adam.add_param_group: a parameter appears in more than one group")
  end)

  it("schedulers follow PyTorch's formulas", function()
    local p = cnn.ones({ 1 }, { requires_grad = true })
    local opt = optim.SGD({ p }, { lr = 1 })
    local s = optim.lr_scheduler.StepLR(opt, 2, 0.5)
    local lrs = {}
    for _ = 1, 5 do s:step(); lrs[#lrs + 1] = opt.param_groups[1].lr end
    assert.same({ 1, 0.5, 0.5, 0.25, 0.25 }, lrs)
    opt = optim.SGD({ p }, { lr = 1 })
    s = optim.lr_scheduler.MultiStepLR(opt, { 2, 4 }, 0.1)
    for _ = 1, 4 do s:step() end
    assert.near(0.01, s:get_last_lr()[1], 1e-15)
    opt = optim.SGD({ p }, { lr = 1 })
    s = optim.lr_scheduler.ExponentialLR(opt, 0.9)
    s:step(); s:step()
    assert.near(0.81, opt.param_groups[1].lr, 1e-15)
    opt = optim.SGD({ p }, { lr = 1 })
    s = optim.lr_scheduler.CosineAnnealingLR(opt, 10, 0.1)
    for _ = 1, 5 do s:step() end
    assert.near(0.55, opt.param_groups[1].lr, 1e-12)
    opt = optim.SGD({ p }, { lr = 1 })
    s = optim.lr_scheduler.ReduceLROnPlateau(opt, { patience = 1, factor = 0.5 })
    for _, v in ipairs({ 1, 0.9, 0.95, 0.95, 0.95 }) do s:step(v) end
    assert.equal(0.5, opt.param_groups[1].lr)
  end)

  it("ReduceLROnPlateau resumes from its state_dict with the same lr sequence", function()
    local metrics = { 1, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.7, 0.75, 0.75, 0.75, 0.75, 0.75 }
    local function run(from, to, opt, s)
      local lrs = {}
      for e = from, to do s:step(metrics[e]); lrs[#lrs + 1] = opt.param_groups[1].lr end
      return lrs
    end
    local function make(lr)
      local p = cnn.ones({ 1 }, { requires_grad = true })
      local opt = optim.SGD({ p }, { lr = lr })
      return opt, optim.lr_scheduler.ReduceLROnPlateau(opt, { patience = 1, factor = 0.5, cooldown = 1 })
    end
    local opt, s = make(1)
    local whole = run(1, #metrics, opt, s)
    opt, s = make(1)
    local first = run(1, 7, opt, s)
    local path = os.tmpname()
    cnn.save({ optim = opt:state_dict(), sched = s:state_dict() }, path)       -- through a checkpoint file
    local ck = cnn.load(path)
    os.remove(path)
    local opt2, s2 = make(123)
    opt2:load_state_dict(ck.optim)
    s2:load_state_dict(ck.sched)
    assert.same({ s.best, s.num_bad_epochs, s.cooldown_counter, s.last_epoch }, { s2.best, s2.num_bad_epochs, s2.cooldown_counter, s2.last_epoch })
    local rest = run(8, #metrics, opt2, s2)
    table.move(rest, 1, #rest, #first + 1, first)
    assert.same(whole, first)
    assert.same({ 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125, 0.0625 }, whole)
    local o3, s3 = make(0.1)                                           -- the lrs come back without the optimizer
    s3:load_state_dict(ck.sched)
    assert.equal(0.5, o3.param_groups[1].lr)          -- the lr after epoch 7
    H.errors(function() s3:load_state_dict({ best = 1 }) end, "cnn.optim.lr_scheduler.ReduceLROnPlateau.load_state_dict: argument 1 (state_dict): missing key 'mode'")
    local bad = s:state_dict(); bad.pateince = 2
    H.errors(function() s3:load_state_dict(bad) end, "unknown key 'pateince'")
    bad = s:state_dict(); bad.num_bad_epochs = -1
    H.errors(function() s3:load_state_dict(bad) end, "argument 1 (num_bad_epochs): expected an integer >= 0, got -1")
  end)

  it("checks arguments", function()
    local p = cnn.ones({ 1 }, { requires_grad = true })
    H.errors(function() optim.SGD({ p }, { lr = -1 }) end, "cnn.optim.SGD: argument 2 (lr): expected a number in [0, inf], got -1")
    H.errors(function() optim.Adam({ p }, { betas = { 0.9 } }) end, "cnn.optim.Adam: argument 2 (betas): expected a pair {beta1, beta2}")
    H.errors(function() optim.SGD({ p }, { momentum = 0, nesterov = true }) end, "nesterov momentum needs momentum > 0")
    H.errors(function() optim.Adam({ p }, { lrr = 1 }) end, "cnn.optim.Adam: argument 2 (options): unknown option 'lrr'")
    H.errors(function() optim.SGD({}) end, "cnn.optim.SGD: argument 1 (params): got an empty parameter list")
    H.errors(function() cnn._optim.step("sgd", { p }, { {} }, { 1 }, {}) end, "cnn.optim_step: sgd: parameter 1 has no gradient")
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local m, x, y = setup()
      train(m, optim.Adam(m), x, y, 2)
    end)
  end)
end)
