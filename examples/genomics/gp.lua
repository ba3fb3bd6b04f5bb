-- Genomic prediction of a complex trait: GBLUP, ridge (CV lambda), the guide's MLP and CNN, with
-- and without marker preselection, compared over k folds by the Pearson correlation and the MSE
-- between predicted and observed phenotypes of the test individuals (Perez-Enciso & Zingaretti,
-- Genes 2019). On a user's PLINK files:
--   bin/cnn examples/genomics/gp.lua --bfile cohort --pheno cohort.pheno
-- or on simulated traits (additive, epistasis, dominance, or all three):
--   bin/cnn examples/genomics/gp.lua --trait all --n 2000 --p 10000
-- Writes <out>/<trait>/results.md (the table) and predicted_vs_observed.svg.
-- Preselection ranks markers by single-marker regression on each fold's training individuals
-- only; standardisation, allele frequencies and the networks' validation part come from the
-- training individuals too: the test fold is used for nothing but the final predictions.
local cnn = require "cnn"
local G = cnn.genomics

local opts = cnn.cli.parse(arg, {
  description = "Genomic prediction: GBLUP, ridge, MLP and CNN over k folds",
  { "bfile", "", "PLINK prefix (.bed/.bim/.fam) of your cohort; empty: simulated data" },
  { "pheno", "", "phenotype file (FID IID value); empty: the .fam's sixth column" },
  { "trait", "all", "simulated trait: additive, epistasis, dominance or all" },
  { "n", 2000, "simulated individuals" },
  { "p", 10000, "simulated markers" },
  { "qtl", 200, "simulated causal markers" },
  { "h2", 0.5, "simulated heritability (broad sense)" },
  { "seed", 1, "seed of the simulation, folds and networks" },
  { "folds", 5, "number of cross-validation folds" },
  { "select", 1000, "markers kept by preselection (0: no preselected variants)" },
  { "models", "gblup,ridge,mlp,cnn", "models to run (comma-separated)" },
  { "epochs", 60, "maximum epochs of the networks (early stopping on 10% of the training set)" },
  { "patience", 8, "epochs without improvement before stopping" },
  { "lr", 1e-3, "learning rate of the networks" },
  { "optimizer", "adam", "adam or sgd" },
  { "weight_decay", 1e-3, "L2 penalty of the networks" },
  { "batch_size", 32, "mini-batch size" },
  { "out", "out/gp", "output folder" },
  { "threads", 0, "threads (0: the default)" },
})
if opts.threads > 0 then cnn.set_num_threads(opts.threads) end

local now = os.clock
do local ok, system = pcall(require, "system"); if ok and system.monotime then now = system.monotime end end

local wanted = {}
for m in opts.models:gmatch("[^,%s]+") do wanted[m] = true end

local function mean_sd(v)
  local s = 0
  for _, x in ipairs(v) do s = s + x end
  local m = s / #v
  local ss = 0
  for _, x in ipairs(v) do ss = ss + (x - m) ^ 2 end
  return m, #v > 1 and math.sqrt(ss / (#v - 1)) or 0
end

-- one trait: g (BedMatrix), y (float64, NaN = no phenotype); returns the Markdown table
local function evaluate(name, g, y)
  local dir = opts.out .. "/" .. name
  os.execute("mkdir -p '" .. dir .. "'")
  local obs = {}
  local yt = y:totable()
  for i = 1, g.n do if yt[i] == yt[i] then obs[#obs + 1] = i end end
  local obs_t = cnn.tensor(obs, "int64")
  print(("== %s: %d individuals with a phenotype, %d markers, %d folds"):format(name, #obs, g.p, opts.folds))
  local folds = cnn.data.kfold(#obs, opts.folds, { seed = opts.seed })
  local methods = {}
  local order = {}
  local function record(key, label, markers, fold, pred, test, secs)
    if not methods[key] then methods[key] = { label = label, markers = markers, r = {}, mse = {}, secs = 0, obs = {}, pred = {} }; order[#order + 1] = key end
    local m = methods[key]
    local o = y:index_select(1, test)
    m.r[fold] = G.pearson(pred, o)
    local e = pred - o
    m.mse[fold] = (e * e):mean():item()
    m.secs = m.secs + secs
    for _, v in ipairs(o:totable()) do m.obs[#m.obs + 1] = v end
    for _, v in ipairs(pred:totable()) do m.pred[#m.pred + 1] = v end
    print(("  fold %d  %-28s r = %6.3f  MSE = %7.4f  (%.1f s)"):format(fold, label .. " [" .. markers .. "]", m.r[fold], m.mse[fold], secs))
  end
  for k, f in ipairs(folds) do
    local train, test = obs_t:index_select(1, f.train:long()), obs_t:index_select(1, f.test:long())
    local sets = { { g = g, tag = "", markers = tostring(g.p) } }
    if opts.select > 0 and opts.select < g.p then
      local t0 = now()
      local sel = G.preselect(g, y, { rows = train, k = opts.select })
      sets[2] = { g = g:subset(sel), tag = "_sel", markers = opts.select .. " preselected", secs = now() - t0 }
    end
    for _, s in ipairs(sets) do
      local extra = s.secs or 0
      local function run(key, label, fit)
        if not wanted[key] then return end
        local t0 = now()
        local pred = fit()
        record(key .. s.tag, label, s.markers, k, pred, test, now() - t0 + extra)
      end
      run("gblup", "GBLUP (REML)", function() return G.gblup { X = s.g, y = y, rows = train }:predict(s.g, test) end)
      run("ridge", "ridge (CV lambda)", function() return G.ridge { X = s.g, y = y, rows = train, seed = opts.seed }:predict(s.g, test) end)
      local function net(model, desc)
        return G.fit_network(model, s.g, y, { rows = train, epochs = opts.epochs, patience = opts.patience, lr = opts.lr,
          optimizer = opts.optimizer, weight_decay = opts.weight_decay, batch_size = opts.batch_size, seed = opts.seed + k,
          desc = desc }):predict(s.g, test)
      end
      run("mlp", "MLP", function() return net(G.mlp(s.g.p), ("MLP fold %d%s"):format(k, s.tag)) end)
      run("cnn", "CNN", function() return net(G.convnet(s.g.p), ("CNN fold %d%s"):format(k, s.tag)) end)
    end
  end
  local lines = {
    ("### %s"):format(name), "",
    ("%d individuals, %d markers, %d folds (seed %d)."):format(#obs, g.p, opts.folds, opts.seed), "",
    "| model | markers | Pearson r (mean ± SD) | MSE (mean ± SD) | time (s, all folds) |",
    "|---|---|---|---|---|",
  }
  for _, key in ipairs(order) do
    local m = methods[key]
    local rm, rs = mean_sd(m.r)
    local mm, ms = mean_sd(m.mse)
    lines[#lines + 1] = ("| %s | %s | %.3f ± %.3f | %.3f ± %.3f | %.1f |"):format(m.label, m.markers, rm, rs, mm, ms, m.secs)
  end
  local md = table.concat(lines, "\n") .. "\n"
  local fh = assert(io.open(dir .. "/results.md", "w")); fh:write(md); fh:close()
  local series = {}
  for _, key in ipairs({ "gblup", "ridge", "mlp", "cnn" }) do
    local m = methods[key]
    if m then series[#series + 1] = { observed = m.obs, predicted = m.pred, label = m.label } end
  end
  if #series > 0 then
    G.plot_predictions(series, dir .. "/predicted_vs_observed.svg",
      { title = ("%s: test predictions of %d folds (all markers)"):format(name, opts.folds) })
  end
  print(md)
  return md
end

local t_start = now()
os.execute("mkdir -p '" .. opts.out .. "'")
if opts.bfile ~= "" then
  local g = G.open_bed(opts.bfile)
  local y = opts.pheno ~= "" and G.read_pheno(opts.pheno, g).values or g.phenotype
  evaluate(opts.bfile:match("[^/]+$"), g, y)
else
  local traits = opts.trait == "all" and { "additive", "epistasis", "dominance" } or { opts.trait }
  for _, t in ipairs(traits) do
    local t0 = now()
    local g = G.simulate_genotypes { n = opts.n, p = opts.p, qtl = opts.qtl, h2 = opts.h2, seed = opts.seed,
      epistasis = t == "epistasis" and 0.5 or 0, dominance = t == "dominance" and 0.5 or 0,
      out = opts.out .. "/" .. t .. "_data" }
    print(("simulated %s: %d x %d in %.1f s (%s_data.bed/.bim/.fam/.pheno)"):format(t, g.n, g.p, now() - t0, t))
    evaluate(t, g, g.y)
  end
end
print(("total %.1f s"):format(now() - t_start))
