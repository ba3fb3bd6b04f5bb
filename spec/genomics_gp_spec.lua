-- cnn.genomics, genomic prediction: the simulator (heritability, frequencies, LD, files), the
-- 2-bit BedMatrix (batches against the float reader, streaming), VanRaden's GRM by hand, GBLUP's
-- REML against numpy's dense computation (spec/parity/gen_gblup.py), ridge against its closed
-- form and its CV against refits, preselection that never reads the test fold, the networks.
local cnn = require "cnn"
local H = require "helpers"
local P = require "fixtures.png"
local G = cnn.genomics
local geno = require "cnn.data.genotype"

local NA = 0 / 0
local FIX = dofile("spec/parity/fixtures/gblup.lua")

local function rel(a, b) return math.abs(a - b) / math.max(1e-12, math.abs(b)) end
local function range(a, b) return cnn.arange(a, b + 1):long() end

describe("cnn.genomics (prediction)", function()
  local dir
  setup(function() dir = P.tmpdir() end)
  teardown(function() P.rmdir(dir) end)

  it("simulates the asked heritability, a realistic frequency spectrum and LD blocks", function()
    local g = G.simulate_genotypes { n = 4000, p = 600, qtl = 60, h2 = 0.3, ld_block = 20, seed = 11 }
    local h2 = g.genetic:var():item() / g.y:var():item()
    assert.is_true(math.abs(h2 - 0.3) < 0.03, "realised h2 " .. h2)
    local f = g:stats().mean:totable()
    local maf, rare = 0, 0
    for j = 1, #f do local m = math.min(f[j], 2 - f[j]) / 2; maf = maf + m; if m < 0.1 then rare = rare + 1 end end
    maf = maf / #f
    -- neutral spectrum on [0.05, 0.5]: E[maf] = (0.5 - 0.05) / ln(10) = 0.195, P(maf < 0.1) = ln 2 / ln 10 = 0.30
    assert.is_true(math.abs(maf - 0.195) < 0.02, "mean maf " .. maf)
    assert.is_true(math.abs(rare / #f - 0.301) < 0.07, "share of maf < 0.1: " .. rare / #f)
    local X = g:batch(range(1, 1000), { dtype = "float64" })
    local within, across, nw, na = 0, 0, 0, 0
    for j = 1, 599 do
      local r = math.abs(G.pearson(X:select(2, j), X:select(2, j + 1)))
      if j % 20 == 0 then across, na = across + r, na + 1 else within, nw = within + r, nw + 1 end
    end
    within, across = within / nw, across / na
    assert.is_true(within > 0.3 and across < 0.06, ("mean |r| of neighbours %.3f within blocks, %.3f across"):format(within, across))
    -- the same seed gives the same cohort; another seed another one
    local g2 = G.simulate_genotypes { n = 4000, p = 600, qtl = 60, h2 = 0.3, ld_block = 20, seed = 11 }
    assert.are.equal(g.bytes, g2.bytes)
    assert.are.equal(0, (g.y - g2.y):abs():max():item())
    assert.are_not.equal(g.bytes, G.simulate_genotypes { n = 4000, p = 600, qtl = 60, seed = 12 }.bytes)
  end)

  it("splits the genetic variance between additive, dominance and epistatic parts", function()
    for _, cs in ipairs({ { dominance = 0.5 }, { epistasis = 0.5 } }) do
      local g = G.simulate_genotypes { n = 3000, p = 200, qtl = 40, h2 = 0.8, seed = 5, dominance = cs.dominance, epistasis = cs.epistasis }
      -- the additive part: the regression of the genetic value on the QTL dosages (least squares)
      local Xq = g:batch(nil, { cols = g.qtl, dtype = "float64" })
      local Xc = Xq - Xq:mean(1, true)
      local b = cnn.linalg.lstsq(Xc, (g.genetic - g.genetic:mean()):view(3000, 1))
      local fitted = cnn.matmul(Xc, b):view(3000)
      local share = fitted:var():item() / g.genetic:var():item()
      -- half of the variance is put in the non-additive part, some of which is additive variance
      -- again (a dominance deviation correlates with the dosage when p ~= 0.5)
      assert.is_true(share > 0.45 and share < 0.8, "additive share " .. share)
      -- with the non-additive codes (heterozygote indicators, or the pairs' products) the fit is exact
      local extra = cs.dominance and Xq:eq(1):double() or Xc * Xc:index_select(2, g.effects.pairs)
      local Dm = cnn.cat({ Xc, extra - extra:mean(1, true) }, 2)
      local b2 = cnn.linalg.lstsq(Dm, (g.genetic - g.genetic:mean()):view(3000, 1))
      local full = cnn.matmul(Dm, b2):view(3000)
      assert.is_true(full:var():item() / g.genetic:var():item() > 0.999999)
      local h2 = g.genetic:var():item() / g.y:var():item()
      assert.is_true(math.abs(h2 - 0.8) < 0.03)
    end
  end)

  it("writes PLINK files and a phenotype file that read back as the cohort", function()
    local pre = dir .. "/sim"
    local g = G.simulate_genotypes { n = 37, p = 45, qtl = 5, seed = 2, out = pre }
    local r = geno.read_bed(pre)
    H.close(r.dosage, g:batch(nil, { dtype = "float64" }), 0)
    local ph = G.read_pheno(pre .. ".pheno")
    assert.are.equal("ind1", ph.ids[1])
    H.close(ph.values, g.y, 1e-8)
    local h = G.open_bed(pre)
    assert.are.equal(g.bytes, h.bytes)
    H.close(G.read_pheno(pre .. ".pheno", h).values, g.y, 1e-8)
    -- streamed from the file: the same statistics and scans as in memory
    local s = G.open_bed(pre, { stream = true })
    assert.is_nil(s.bytes)
    H.close(s:stats(range(3, 30)).mean, h:stats(range(3, 30)).mean, 0)
    H.close(s:scan(g.y:narrow(1, 3, 28), range(3, 30)), h:scan(g.y:narrow(1, 3, 28), range(3, 30)), 0)
    H.close(s:subset({ 7, 2 }):batch(nil, { dtype = "float64" }), r.dosage:index_select(2, { 7, 2 }), 0)
    local gs = G.simulate_genotypes { n = 37, p = 45, qtl = 5, seed = 2, out = dir .. "/sim2", stream = true }
    assert.is_nil(gs.bytes)
    local function bytes(f) local fh = assert(io.open(f, "rb")); local b = fh:read("a"); fh:close(); return b end
    assert.are.equal(bytes(pre .. ".bed"), bytes(dir .. "/sim2.bed"))
  end)

  it("makes standardised batches from the 2-bit codes as from the float matrix", function()
    local X = cnn.tensor({ { 0, 1, 2, 1 }, { 2, NA, 1, 1 }, { 1, 1, 0, 1 }, { NA, 2, 2, 1 }, { 0, 0, 1, 1 } }, "float64")
    local g = G.from_dosage(X)
    local st = g:stats()
    H.close(st.count, { 4, 4, 5, 5 }, 0)
    H.close(st.mean, { 0.75, 1, 1.2, 1 }, 1e-15)
    H.close(st.sd, { math.sqrt((0.5625 * 2 + 1.5625 + 0.0625) / 3), math.sqrt(2 / 3), math.sqrt(2.8 / 4), 0 }, 1e-14)
    local b = g:batch({ 4, 2 }, { cols = { 3, 1 }, center = cnn.tensor({ 1.2, 0.75 }, "float64"), scale = cnn.tensor({ 2, 10 }, "float64"), dtype = "float64" })
    H.close(b, { { (2 - 1.2) * 2, 0 }, { (1 - 1.2) * 2, (2 - 0.75) * 10 } }, 1e-14)
    local raw = g:batch(nil, { dtype = "float64" })
    assert.is_true(raw[2][2] ~= raw[2][2])
    H.errors(function() g:batch({ 6 }) end, "cnn.genomics.BedMatrix:batch: argument 1 (rows): expected indices in 1..5")
  end)

  it("computes VanRaden's GRM as by hand", function()
    local X = cnn.tensor({ { 0, 1, 2 }, { 1, 1, 0 }, { 2, 0, 1 }, { 1, 2, NA } })
    -- every column has mean 1 (p = 0.5), so 2 sum p(1-p) = 1.5 and Z = X - 1 (missing -> 0)
    local want = { { 2, -1, -1, 0 }, { -1, 1, 0, 0 }, { -1, 0, 2, -1 }, { 0, 0, -1, 1 } }
    for i = 1, 4 do for j = 1, 4 do want[i][j] = want[i][j] / 1.5 end end
    H.close(G.grm(X), want, 1e-14)
    -- frequencies from a subset of rows: rows 1 and 2 give means 0.5, 1, 1 -> c = 0.375 + 0.5 + 0.5
    local K = G.grm(X, { rows = { 1, 2 } })
    -- Z rows: (-0.5, 0, 1) and (0.5, 0, -1)
    H.close(K, { { (0.25 + 1) / 1.375, (-0.25 - 1) / 1.375 }, { (-0.25 - 1) / 1.375, (0.25 + 1) / 1.375 } }, 1e-14)
    -- the numpy fixture's GRM of the training samples
    local cs = FIX[1]
    H.close(G.grm(cnn.tensor(cs.X, "float64"), { rows = range(1, cs.n_train) }), cs.grm, 1e-12)
  end)

  it("estimates the variance components by REML as numpy's dense computation", function()
    for _, cs in ipairs(FIX) do
      local X, y = cnn.tensor(cs.X, "float64"), cnn.tensor(cs.y, "float64")
      local train, test = range(1, cs.n_train), range(cs.n_train + 1, #cs.y)
      local m = G.gblup { X = X, y = y, rows = train }
      assert.is_true(rel(m.lambda, cs.delta) < 1e-5, ("delta %.10g, numpy %.10g"):format(m.lambda, cs.delta))
      assert.is_true(rel(m.vg, cs.vg) < 1e-5 and rel(m.ve, cs.ve) < 1e-5 and rel(m.h2, cs.h2) < 1e-5)
      assert.is_true(rel(m.beta, cs.beta) < 1e-6 and math.abs(m.loglik - cs.loglik) < 1e-7)
      H.close(m.breeding_values, cs.bv, 1e-5)
      H.close(m:predict(X, test), cs.pred, 1e-5)
      -- the same fit from the relationship matrix, predicting with the cross-relationships
      local K = G.grm(X, { rows = train })
      local mg = G.gblup { grm = K, y = y:narrow(1, 1, cs.n_train) }
      assert.is_true(rel(mg.h2, cs.h2) < 1e-5)
      local Xt, Xn = X:narrow(1, 1, cs.n_train), X:index_select(1, test)
      local mean = Xt:mean(1, true)
      local c = (mean * (mean * -0.5 + 1)):sum():item()
      local cross = cnn.matmul(Xn - mean, (Xt - mean):t()) / c
      H.close(mg:predict(cross), cs.pred, 1e-5)
    end
  end)

  it("fits ridge as the closed form, GBLUP as ridge with lambda = ve / marker variance", function()
    local cs = FIX[2]
    local X, y = cnn.tensor(cs.X, "float64"), cnn.tensor(cs.y, "float64")
    local train = range(1, cs.n_train)
    local r = G.ridge { X = X, y = y, rows = train, lambda = cs.ridge_lambda }
    H.close(r.coef, cs.ridge_coef, 1e-9)
    assert.is_true(math.abs(r.intercept - cs.ridge_intercept) < 1e-9)
    local test = range(cs.n_train + 1, #cs.y)
    H.close(r:predict(X, test), cnn.matmul(X:index_select(1, test), cnn.tensor(cs.ridge_coef, "float64"):view(-1, 1)):view(-1) + cs.ridge_intercept, 1e-9)
    -- GBLUP at a fixed delta predicts as ridge with lambda = delta * 2 sum p(1-p)
    local m = G.gblup { X = X, y = y, rows = train, lambda = 0.7 }
    local mean = X:narrow(1, 1, cs.n_train):mean(1)
    local c = (mean * (mean * -0.5 + 1)):sum():item()
    local r2 = G.ridge { X = X, y = y, rows = train, lambda = 0.7 * c }
    H.close(m:predict(X, test), r2:predict(X, test), 1e-9)
    assert.are.equal("fixed lambda", m.method)
  end)

  it("chooses ridge's lambda by k-fold CV, each fold's error as a refit on that fold", function()
    local cs = FIX[1]
    local X, y = cnn.tensor(cs.X, "float64"), cnn.tensor(cs.y, "float64")
    local train = range(1, cs.n_train)
    local lambdas = { 10, 60, 300, 2000 }
    local r = G.ridge { X = X, y = y, rows = train, lambdas = lambdas, folds = 4, seed = 3 }
    local parts = cnn.data.kfold(cs.n_train, 4, { seed = 3 })
    for k, lam in ipairs(lambdas) do
      local sse = 0
      for _, f in ipairs(parts) do
        local fit = G.ridge { X = X, y = y, rows = f.train:long(), lambda = lam }
        local e = fit:predict(X, f.test:long()) - y:index_select(1, f.test:long())
        sse = sse + (e * e):sum():item()
      end
      assert.is_true(rel(r.cv.mse[k], sse / cs.n_train) < 1e-9, ("lambda %g: CV mse %.12g, refits %.12g"):format(lam, r.cv.mse[k], sse / cs.n_train))
    end
    local best = 1
    for k = 2, 4 do if r.cv.mse[k] < r.cv.mse[best] then best = k end end
    assert.are.equal(lambdas[best], r.lambda)
  end)

  it("preselects markers from the training samples only: the test fold is never read", function()
    local g = G.simulate_genotypes { n = 300, p = 400, qtl = 10, h2 = 0.6, seed = 9 }
    local train, test = range(1, 240), range(241, 300)
    local sel, stats = G.preselect(g, g.y, { rows = train, k = 20 })
    -- the test phenotypes hidden (NaN) or replaced by a planted perfect association: same result
    local hidden = cnn.cat({ g.y:narrow(1, 1, 240), cnn.full({ 60 }, NA, "float64") })
    local s2, st2 = G.preselect(g, hidden, { rows = train, k = 20 })
    H.close(s2, sel, 0); H.close(st2, stats, 0)
    local planted = cnn.cat({ g.y:narrow(1, 1, 240), g:batch(test, { cols = { 400 }, dtype = "float64" }):view(60) * 100 })
    H.close(G.preselect(g, planted, { rows = train, k = 20 }), sel, 0)
    -- the test samples' genotypes changed: same result
    local X = g:batch(nil, { dtype = "float64" })
    local X2 = cnn.cat({ X:narrow(1, 1, 240), (X:narrow(1, 241, 60) * 0 + 2) })
    H.close(G.preselect(G.from_dosage(X2), g.y, { rows = train, k = 20 }), sel, 0)
    -- against the single-marker regressions by hand (lstsq on the training samples)
    local j = sel[1]
    local x = X:index_select(1, train):select(2, j)
    local D = cnn.stack({ cnn.ones({ 240 }, "float64"), x }, 2)
    local b = cnn.linalg.lstsq(D, g.y:narrow(1, 1, 240):view(240, 1))
    assert.is_true(math.abs(stats[j][1] - b[2][1]) < 1e-10)
    -- the kept markers have the largest |t|
    local t, kept = stats:select(2, 2):abs():totable(), {}
    for _, k in ipairs(sel:totable()) do kept[k] = true end
    local lo = math.huge
    for k in pairs(kept) do lo = math.min(lo, t[k]) end
    for k = 1, #t do if not kept[k] then assert.is_true(t[k] <= lo) end end
    H.errors(function() G.preselect(g, hidden, { rows = range(200, 260), k = 5 }) end,
      "cnn.genomics.preselect: argument 2 (y): a training sample's phenotype is missing (NaN)")
  end)

  it("trains the guide's MLP and CNN without the test phenotypes", function()
    local g = G.simulate_genotypes { n = 400, p = 300, qtl = 20, h2 = 0.8, seed = 4 }
    local train, test = range(1, 320), range(321, 400)
    local y = cnn.cat({ g.y:narrow(1, 1, 320), cnn.full({ 80 }, NA, "float64") })
    local f = G.fit_network(G.mlp(300), g, y, { rows = train, epochs = 15, lr = 1e-3, progress = false, seed = 1 })
    local pred = f:predict(g, test)
    assert.are.same({ 80 }, pred:size())
    local r = G.pearson(pred, g.y:index_select(1, test))
    assert.is_true(r > 0.3, "MLP test r " .. r)
    local net = G.convnet(300)
    assert.are.same({ 2, 1 }, net(cnn.randn(2, 300)):size())
    assert.are.equal(32 * 50 * 64, net.mlp[1].weight:numel())     -- 300 -> 100 conv positions -> 50 pooled
    local fc = G.fit_network(net, g, y, { rows = train, epochs = 3, optimizer = "sgd", lr = 1e-2, weight_decay = 1e-4, progress = false })
    assert.are.equal(80, fc:predict(g, test):numel())
    assert.is_true(#fc.history.valid >= 1)
  end)

  it("correlates and plots predicted against observed", function()
    assert.is_true(math.abs(G.pearson({ 1, 2, 3, 4 }, { 2, 4, 5, 9 }) - 11 / math.sqrt(130)) < 1e-12)
    local path = G.plot_predictions({ { observed = { 1, 2, 3 }, predicted = { 1.2, 1.8, 3.3 }, label = "GBLUP <a>" } }, dir .. "/p.svg")
    local fh = assert(io.open(path)); local s = fh:read("a"); fh:close()
    assert.is_truthy(s:find("GBLUP &lt;a&gt;", 1, true))
    assert.is_truthy(s:find("r = 0.971", 1, true))     -- 2.1 / sqrt(2 x 2.34)
    local lxp = require "lxp"
    assert.is_truthy(lxp.new({}):parse(s))
  end)
end)
