-- cnn.amd's networks and losses: each design's forward and backward (gradcheck in float64 on a
-- tiny configuration), the masked BCE and the censored survival likelihood against values
-- computed by hand with plain Lua arithmetic, monotone survival curves, the feature cache against
-- the uncached trunk, and model files. Training and evaluation: amd_evaluate_spec.lua.
local cnn = require "cnn"
local H = require "helpers"
local amd = cnn.amd
local NaN = 0 / 0

local function sigmoid(z) return 1 / (1 + math.exp(-z)) end

-- a tiny model of each design in float64 and inputs for it
local function tiny(design, inputs)
  cnn.manual_seed(5)
  local m = amd.model { design = design, inputs = inputs, image_size = 16, width = 0.125 }:double()
  local x = cnn.rand({ 2, 3, 16, 16 }, "float64")
  local g = cnn.randint(0, 3, { 2, 52 }, "float64")
  local c = cnn.tensor({ { 70, 0, 1 }, { 64, 1, 0 } }, "float64")
  return m, x, g, c
end

describe("cnn.amd.model", function()
  it("builds the three designs with one output column per cutoff, probabilities in (0,1)", function()
    for _, d in ipairs({ { "paper", "image" }, { "paper", "image+geno" }, { "survival", "image+geno" },
                         { "survival", "image" }, { "geno" } }) do
      local m, x, g, c = tiny(d[1], d[2])
      local p = m(x, g, c)
      assert.are.same({ 2, 6 }, p:size())
      assert.is_true(p:min():item() > 0 and p:max():item() < 1)
    end
    local m = amd.model { design = "paper", cutoffs = { 3, 5 }, image_size = 16, width = 0.125 }
    assert.are.same({ 2, 2 }, m(cnn.rand(2, 3, 16, 16)):size())
    assert.are.equal(2, #m.heads)
  end)

  it("has the paper's head: severity Dense(128) -> Dense(2), then (2 [+ 52]) -> Dense(4) -> Dense(1) per cutoff", function()
    local m = amd.model { design = "paper", inputs = "image+geno", width = 0.125, image_size = 16 }
    assert.are.same({ 128, 8 }, m.severity[1].weight:size())
    assert.are.same({ 2, 128 }, m.severity[3].weight:size())
    assert.are.same({ 4, 54 }, m.heads[1][1].weight:size())
    assert.are.same({ 1, 4 }, m.heads[1][3].weight:size())
    local r = amd.model { design = "paper", backbone = "resnet18", width = 0.0625, image_size = 32 }
    assert.are.equal(32, r.trunk.num_features)
    assert.are.same({ 2, 6 }, r(cnn.rand(2, 3, 32, 32)):size())
  end)

  it("passes gradcheck in float64 for each design (inputs and parameters)", function()
    -- images of 2x3x16x16 are 1,536 inputs: check a few parameters and the genotypes fully,
    -- the image through a 4x4 patch that the rest of the image surrounds
    local function patched(x)
      local patch = x:narrow(3, 5, 4):narrow(4, 5, 4):clone():requires_grad(true)
      return patch, function(p)
        local top = x:narrow(3, 1, 4)
        local mid = cnn.cat({ x:narrow(3, 5, 4):narrow(4, 1, 4), p, x:narrow(3, 5, 4):narrow(4, 9, 8) }, 4)
        return cnn.cat({ top, mid, x:narrow(3, 9, 8) }, 3)
      end
    end
    for _, d in ipairs({ { "paper", "image+geno" }, { "survival", "image+geno" }, { "geno" } }) do
      local m, x, g, c = tiny(d[1], d[2])
      m:eval()
      g = g:clone():requires_grad(true)
      c = c:clone():requires_grad(true)
      if d[1] == "geno" then
        H.gradcheck(function(gg, cc, w) return m(nil, gg, cc) end, { g, c, m.linear.weight })
      else
        local patch, build = patched(x)
        local last = d[1] == "paper" and m.heads[2][1].weight or m.hazard.weight
        local conv = m.trunk.net[4][1].weight
        H.gradcheck(function(p, gg, cc, w1, w2) return m(build(p), gg, cc) end, { patch, g, c, last, conv })
      end
    end
  end)

  it("trains the trunk in batch-norm training mode: gradcheck of the severity step and the survival step", function()
    local m, x, g, c = tiny("paper", "image")
    local sev = cnn.tensor({ { 1, 0 }, { 1, 1 } }, "float64")
    local w = m.severity[3].weight
    H.gradcheck(function(ww) return cnn.F.binary_cross_entropy_with_logits(m:severity_logits(m:features(x)), sev) end, { w })
    local s = tiny("survival", "image+geno")
    H.gradcheck(function(ww)
      return amd.survival_nll(s:logits(x, g, c), cnn.tensor({ 4.8, 5.3 }), cnn.tensor({ 1, 0 }))
    end, { s.image_head[1].bias })
  end)

  it("checks its options", function()
    H.errors(function() amd.model { design = "cox" } end, 'cnn.amd.model: argument 1 (design): expected "paper", "survival" or "geno", got "cox"')
    H.errors(function() amd.model { backbone = "vgg" } end, "cnn.amd.model: argument 1 (backbone)")
    H.errors(function() amd.model { inputs = "geno" } end, 'cnn.amd.model: argument 1 (inputs): expected "image" or "image+geno"')
    H.errors(function() amd.model { cutoffs = { 3, 2 } } end, "cnn.amd.model: argument 1 (cutoffs): expected increasing years")
    H.errors(function() amd.model { epochs = 3 } end, "cnn.amd.model: argument 1 (options): unknown option 'epochs'")
  end)
end)

describe("cnn.amd losses", function()
  it("masked_bce leaves missing labels out (value and gradient), by hand", function()
    local z = cnn.tensor({ { 0, 2 }, { -1, 0.5 } }, { dtype = "float64", requires_grad = true })
    local y = cnn.tensor({ { 1, NaN }, { 0, NaN } }, "float64")
    local loss = amd.masked_bce(z, y)
    local want = (math.log(2) + math.log(1 + math.exp(-1))) / 2       -- -log s(0), -log(1 - s(-1))
    assert.is_true(math.abs(loss:item() - want) < 1e-12)
    loss:backward()
    local gz = z.grad:totable()
    assert.is_true(math.abs(gz[1][1] - (sigmoid(0) - 1) / 2) < 1e-12)
    assert.is_true(math.abs(gz[2][1] - sigmoid(-1) / 2) < 1e-12)
    assert.are.equal(0, gz[1][2]); assert.are.equal(0, gz[2][2])
    -- no label at all: 0, no NaN
    assert.are.equal(0, amd.masked_bce(cnn.zeros(2, 1), cnn.full({ 2, 1 }, NaN)):item())
  end)

  it("survival_targets follow the label rule's worked examples", function()
    -- progresses 4.8 y after the visit, censored at 5.3 y, already late, censored at 9 y
    local y = amd.survival_targets(cnn.tensor({ 4.8, 5.3, 0, 9, 2.0 }), cnn.tensor({ 1, 0, 1, 0, 1 }), 7):totable()
    local function same(row, want)
      for j = 1, 7 do
        if want[j] ~= want[j] then assert.is_true(row[j] ~= row[j], "expected NaN at " .. j)
        else assert.are.equal(want[j], row[j]) end
      end
    end
    same(y[1], { 0, 0, 0, 0, 1, NaN, NaN })    -- S(k) = P(T >= k) known 1 for k <= 4, event in [4,5)
    same(y[2], { 0, 0, 0, 0, 0, NaN, NaN })    -- survived 5 whole years, then unknown
    same(y[3], { 1, NaN, NaN, NaN, NaN, NaN, NaN })
    same(y[4], { 0, 0, 0, 0, 0, 0, 0 })
    same(y[5], { 0, 0, 1, NaN, NaN, NaN, NaN })    -- late exactly 2 y later: T >= 2, event in [2,3)
  end)

  it("survival_nll is the censored discrete-time likelihood, by hand", function()
    local zt = { { -1, 0.5, 2 }, { 0.3, -2, 1 }, { 1.5, 0, 0 } }
    local z = cnn.tensor(zt, { dtype = "float64", requires_grad = true })
    local t, e = cnn.tensor({ 1.5, 2.7, 0.2 }), cnn.tensor({ 1, 0, 1 })
    local h = function(i, j) return sigmoid(zt[i][j]) end
    -- eye 1: survives [0,1), event in [1,2); eye 2: survives [0,1) and [1,2), censored; eye 3: event in [0,1)
    local ll = math.log(1 - h(1, 1)) + math.log(h(1, 2))
             + math.log(1 - h(2, 1)) + math.log(1 - h(2, 2))
             + math.log(h(3, 1))
    local loss = amd.survival_nll(z, t, e)
    assert.is_true(math.abs(loss:item() - (-ll / 3)) < 1e-12)
    loss:backward()
    local gz = z.grad:totable()
    assert.is_true(math.abs(gz[1][2] - (h(1, 2) - 1) / 3) < 1e-12)   -- d(-log h)/dz = h - 1
    assert.is_true(math.abs(gz[2][2] - h(2, 2) / 3) < 1e-12)         -- d(-log(1-h))/dz = h
    assert.are.equal(0, gz[1][3]); assert.are.equal(0, gz[2][3]); assert.are.equal(0, gz[3][2])
  end)

  it("survival probabilities are the product of (1 - hazard) and never increase with k", function()
    cnn.manual_seed(2)
    local z = cnn.randn({ 50, 7 }, "float64") * 4
    local S = amd.survival_curve(z):totable()
    local zt = z:totable()
    for i = 1, 50 do
      local prod = 1
      for k = 1, 7 do
        prod = prod * (1 - sigmoid(zt[i][k]))
        assert.is_true(math.abs(S[i][k] - prod) < 1e-12)
        if k > 1 then assert.is_true(S[i][k] <= S[i][k - 1]) end
      end
    end
    -- the model's columns are S at the cutoffs, monotone as well
    local m, x, g, c = tiny("survival", "image+geno")
    local p = m(x, g, c):totable()
    for i = 1, 2 do for k = 2, 6 do assert.is_true(p[i][k] <= p[i][k - 1]) end end
  end)
end)

describe("the feature cache", function()
  it("gives the uncached model's outputs, and reads back the file it wrote", function()
    local T = require "cnn.amd.train"
    local m, x, g, c = tiny("paper", "image+geno")
    m:eval()
    local set = { n = 2, images = T.Images.from_tensor(x), geno = g, covariates = c }
    local path = os.tmpname()
    os.remove(path)
    local f = amd.features(m, set, { cache = path, key = "k1" })
    H.close(m:features(x), f, 0)
    H.close(m:head_logits(f, g, c), m:logits(x, g, c), 0)
    local again = amd.features(m, { n = 2, images = T.Images.from_tensor(x * 0) }, { cache = path, key = "k1" })
    H.close(again, f, 0)                                    -- from the file, not recomputed
    local other = amd.features(m, { n = 2, images = T.Images.from_tensor(x * 0) }, { cache = path, key = "k2" })
    assert.is_true(H.maxdiff(other, f) > 0)                 -- another key: recomputed
    os.remove(path)
  end)
end)

describe("AMD model files", function()
  it("keep design, cutoffs, normalisation and thresholds (NaN too) and predict the same", function()
    local m, x, g, c = tiny("survival", "image+geno")
    m:float()
    cnn.no_grad(function() m.img_mean:fill_(0.4); m.geno_mean:fill_(1.1) end)
    m.thresholds = { 0.6, NaN, 0.5, 0.4, 0.3, 0.2 }
    m.snps, m.name = { "rs1_A" }, "survival"
    local path = os.tmpname()
    amd.save_model(m, path)
    local m2 = amd.load_model(path)
    os.remove(path)
    assert.are.equal("survival", m2.design); assert.are.equal(16, m2.image_size)
    assert.are.same({ 2, 3, 4, 5, 6, 7 }, m2.cutoffs)
    assert.are.equal(0.6, m2.thresholds[1]); assert.is_true(m2.thresholds[2] ~= m2.thresholds[2])
    assert.are.equal("rs1_A", m2.snps[1])
    m:eval()
    H.close(m2(x:float(), g:float(), c:float()), m(x:float(), g:float(), c:float()), 0)
    H.errors(function() amd.load_model("/nonexistent/model.safetensors") end, "cnn.amd.load_model")
  end)
end)
