-- cnn.amd.saliency against finite differences on a tiny model (float64): |dP/dpixel| maximum over
-- the colour channels, the [0,1] rescaling, SmoothGrad with no noise equal to the gradient,
-- Grad-CAM against the forward split by hand at the trunk's last block; cnn.amd.predict for one
-- person (imputation reported, the call at the threshold) and the saliency figure.
local cnn = require "cnn"
local H = require "helpers"
local amd = cnn.amd
local NaN = 0 / 0

local function tiny(design, inputs)
  cnn.manual_seed(7)
  local m = amd.model { design = design, inputs = inputs, image_size = 16, width = 0.125 }:double():eval()
  return m, cnn.rand({ 3, 16, 16 }, "float64")
end

describe("cnn.amd.saliency", function()
  it("is |d P(time >= k) / d pixel|, maximum over channels, as finite differences give", function()
    for _, d in ipairs({ { "paper", "image" }, { "survival", "image" } }) do
      local m, x = tiny(d[1], d[2])
      local k = 4                                              -- the cutoff year; its column is 3
      local raw = amd.saliency(m, x, k, { rescale = false })
      assert.are.same({ 16, 16 }, raw:size())
      local g, c = cnn.full({ 1, 52 }, NaN, "float64"), m.cov_mean:view(1, 3)
      local function f(img) return m(img:unsqueeze(1), g, c)[1][3] end
      local eps = 1e-6
      for _, p in ipairs({ { 1, 1 }, { 8, 9 }, { 16, 3 }, { 5, 12 }, { 11, 16 } }) do
        local best = 0
        for ch = 1, 3 do
          local v = x[ch][p[1]][p[2]]
          local xp, xm = x:clone(), x:clone()
          xp[ch][p[1]][p[2]] = v + eps
          xm[ch][p[1]][p[2]] = v - eps
          best = math.max(best, math.abs((f(xp) - f(xm)) / (2 * eps)))
        end
        local got = raw[p[1]][p[2]]
        assert(math.abs(got - best) <= 1e-6 * math.max(1, best) + 1e-9,
          ("%s, pixel %d,%d: saliency %.10g, finite differences %.10g"):format(d[1], p[1], p[2], got, best))
      end
      local s = amd.saliency(m, x, k)
      H.close(s, (raw - raw:min()) / (raw:max() - raw:min()), 1e-12)
      -- SmoothGrad with one noise-free sample is the plain gradient
      H.close(amd.saliency(m, x, k, { method = "smoothgrad", samples = 1, noise = 0 }), s, 1e-12)
      local sg = amd.saliency(m, x, k, { method = "smoothgrad", samples = 4 })
      assert.are.equal(0, sg:min():item()); assert.are.equal(1, sg:max():item())
    end
  end)

  it("Grad-CAM weighs the last block's channels by their mean gradient (the block's output made a leaf)", function()
    local m, x = tiny("paper", "image")
    local cam = amd.saliency(m, x, 2, { method = "gradcam", rescale = false })
    -- by hand: the trunk split at its last block, whose output becomes a leaf
    local net = m.trunk.net
    local xn = (x:unsqueeze(1) - m.img_mean:view(1, 3, 1, 1)) / m.img_std:view(1, 3, 1, 1)
    local a = net[4](net[3](net[2](net[1](xn)))):detach():requires_grad(true)
    local p = m:head_logits(a:mean({ 3, 4 }), nil, nil):sigmoid():narrow(2, 1, 1):sum()
    local grad = cnn.grad(p, { a })[1]
    local w = grad:mean({ 3, 4 }, true)
    local want = cnn.image.resize((w * a:detach()):sum(2, true):relu()[1], { 16, 16 }):squeeze(1)
    H.close(cam, want, 1e-12)
    assert.is_true(want:max():item() >= 0)
  end)

  it("checks its arguments", function()
    local m, x = tiny("paper", "image")
    H.errors(function() amd.saliency(m, x, 9) end, "cnn.amd.saliency: argument 3 (cutoff): expected one of the model's cutoffs (2, 3, 4, 5, 6, 7), got 9")
    H.errors(function() amd.saliency(m, x, 2, { method = "lime" }) end, "cnn.amd.saliency: argument 4 (method)")
    H.errors(function() amd.saliency(amd.model { design = "geno" }, x, 2) end, "cnn.amd.saliency: the geno design has no image input")
  end)
end)

describe("cnn.amd.predict", function()
  it("imputes missing genotypes with the training means, says so, and calls at the thresholds", function()
    cnn.manual_seed(4)
    local m = amd.model { design = "paper", inputs = "image+geno", image_size = 16, width = 0.125 }:eval()
    cnn.no_grad(function() m.geno_mean:copy_(cnn.linspace(0.1, 1.9, 52)) end)
    local img = cnn.rand(3, 20, 24)                               -- cropped square and resized inside
    local g = {}
    for j = 1, 52 do g[j] = j % 3 end
    g[5], g[40] = NaN, NaN
    m.thresholds = { 0, 1, 0.5, 0.5, 0.5, NaN }
    local r = amd.predict(m, { image = img, genotypes = g, saliency = false })
    assert.are.equal(2, r.imputed)
    assert.is_truthy(r.notes[1]:find("2 of 52 genotypes missing, imputed with the training means", 1, true))
    -- by hand: the same image prepared, the two SNPs replaced by their training means
    local filled = cnn.tensor({ g })
    filled[1][5], filled[1][40] = m.geno_mean[5], m.geno_mean[40]
    local x = cnn.image.resize(cnn.image.square_crop(img), 16):unsqueeze(1)
    local want = m(x, filled, nil):double():totable()[1]
    for k = 1, 6 do assert.is_true(math.abs(r.prob[k] - want[k]) < 1e-7) end
    assert.are.equal("at least 2 years", r.call[1])              -- threshold 0
    assert.are.equal("within 3 years", r.call[2])                -- threshold 1
    assert.are.equal("NA", r.call[6])
    local none = amd.predict(m, { image = img, saliency = false })
    assert.are.equal(52, none.imputed)
    assert.is_truthy(none.notes[1]:find("all 52 SNPs imputed", 1, true))
  end)

  it("writes a saliency PNG, one overlay per cutoff", function()
    local m = amd.model { design = "survival", image_size = 16, width = 0.125 }:eval()
    m.thresholds = { 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 }
    local path = os.tmpname() .. ".png"
    local r = amd.predict(m, { image = cnn.rand(3, 16, 16), age = 71, smoking = "former", saliency_png = path })
    assert.are.equal(6, #r.saliency)
    local png = cnn.image.load(path)
    assert.are.equal(3, png:size(1))
    assert.is_true(png:size(3) > 7 * 16)
    os.remove(path)
    H.errors(function() amd.predict(m, { image = cnn.rand(3, 16, 16), smoking = "yes" }) end, "cnn.amd.predict: argument 2 (smoking)")
  end)
end)
