local cnn = require "cnn"
local H = require "helpers"
local nn = cnn.nn

describe("containers", function()
  it("Sequential chains modules and grows with add", function()
    local s = nn.Sequential():add(nn.Linear(3, 5)):add(nn.ReLU())
    assert.equal(2, #s)
    assert.same({ 4, 5 }, s(cnn.randn(4, 3)):size())
  end)

  it("ModuleList and ModuleDict hold modules for the parameter walk", function()
    local l = nn.ModuleList{ nn.Linear(2, 2), nn.Linear(2, 3) }
    l:append(nn.Linear(3, 1))
    assert.equal(3, #l)
    assert.equal(6 + 9 + 4, l:num_parameters())
    local d = nn.ModuleDict{ head = nn.Linear(2, 1), body = nn.Linear(2, 2) }
    assert.same({ "body", "head" }, d:keys())
    assert.equal(3, d.head:num_parameters())
    local names = {}
    for n in d:named_parameters() do names[#names + 1] = n end
    assert.same({ "body.weight", "body.bias", "head.weight", "head.bias" }, names)
  end)

  it("Concat runs every branch on one input and concatenates", function()
    local c = nn.Concat(2, nn.Linear(3, 2), nn.Identity(), nn.Linear(3, 1))
    local x = cnn.randn(4, 3)
    local y = c(x)
    assert.same({ 4, 6 }, y:size())
    H.close(y:narrow(2, 3, 3), x, 0)
  end)

  it("Parallel gives branch i input i (image + genotype style)", function()
    local p = nn.Parallel(2, nn.Linear(8, 2), nn.Identity())
    local img, geno = cnn.randn(5, 8), cnn.randn(5, 52)
    assert.same({ 5, 54 }, p(img, geno):size())
    assert.same({ 5, 54 }, p({ img, geno }):size())
    local list = nn.Parallel(nn.Identity(), nn.Identity())({ img, geno })
    assert.equal(2, #list)
    H.errors(function() p(img) end, "cnn.nn.Parallel: expected 2 inputs (one per branch), got 1")
  end)

  it("Residual adds the shortcut", function()
    local r = nn.Residual(nn.Linear(3, 3))
    local x = cnn.randn(2, 3)
    H.close(r(x), r.block(x) + x, 1e-6)
    local r2 = nn.Residual(nn.Linear(3, 4), nn.Linear(3, 4, false))
    assert.same({ 2, 4 }, r2(x):size())
    H.gradcheck(function(t) return r2:double()(t) end, { cnn.randn({ 2, 3 }, { dtype = "float64", requires_grad = true }) })
  end)

  it("checks arguments", function()
    H.errors(function() nn.Sequential{ nn.Linear(2, 2), 3 } end, "cnn.nn.Sequential: argument 1 (modules[2]): expected a module, got 3")
    H.errors(function() nn.Concat("x") end, 'cnn.nn.Concat: argument 1 (dim): expected an integer, got "x"')
    H.errors(function() nn.Residual() end, "cnn.nn.Residual: argument 1 (module): expected a module, got nil")
    H.errors(function() nn.Parallel(nn.ReLU(), 3) end, "cnn.nn.Parallel: argument 2 (module): expected a module, got 3")
    H.errors(function() nn.Parallel(1, nn.ReLU(), 3) end, "cnn.nn.Parallel: argument 3 (module): expected a module, got 3")
    H.errors(function() nn.Concat(2, { nn.ReLU(), "x" }) end, 'cnn.nn.Concat: argument 2 (modules[2]): expected a module, got "x"')
    H.errors(function() nn.ModuleDict { ["a.b"] = nn.ReLU() } end, "cnn.nn.ModuleDict: argument 1 (modules): expected a table of modules under names without dots")
    H.errors(function() nn.ModuleDict { a = 1 } end, "cnn.nn.ModuleDict: argument 1 (modules.a): expected a module, got 1")
    -- a list whose __index answers every index is read raw: no endless loop
    local endless = setmetatable({}, { __index = function() return nn.ReLU() end })
    assert.equal(0, #nn.Sequential(endless))
  end)
end)
