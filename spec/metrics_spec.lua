local cnn = require "cnn"
local H = require "helpers"
local M = cnn.metrics

-- A case with ties, worked by hand: positives 0.4, 0.8, 0.4; negatives 0.1, 0.4.
-- Pairs: 6, wins 4 + two ties at 0.4 counting 1/2 -> AUC = 5/6.
-- DeLong placements: V10 = {0.75, 1, 0.75}, V01 = {1, 2/3};
-- S10 = 1/48, S01 = 1/18 -> Var = S10/3 + S01/2 = 5/144.
local s = {0.1, 0.4, 0.4, 0.8, 0.4}
local y = {0, 0, 1, 1, 1}

describe("cnn.metrics ROC and AUC", function()
  it("computes AUC with ties as the Mann-Whitney statistic", function()
    local auc, dropped = M.roc_auc(s, y)
    assert.is_true(math.abs(auc - 5 / 6) < 1e-15)
    assert.are.equal(0, dropped)
  end)

  it("gives the DeLong variance and a CI with R's exact z", function()
    local r = M.auc_ci(cnn.tensor(s, "float64"), cnn.tensor(y, "float64"))
    assert.is_true(math.abs(r.var - 5 / 144) < 1e-15)
    local z = 1.959963984540054
    assert.is_true(math.abs(r.lower - (5 / 6 - z * math.sqrt(5 / 144))) < 1e-14)
    assert.are.equal(1, r.upper)                       -- clipped to [0,1]
    local r90 = M.auc_ci(s, y, {level = 0.9})
    assert.is_true(math.abs(r90.lower - (5 / 6 - 1.6448536269514722 * math.sqrt(5 / 144))) < 1e-14)
  end)

  it("places ROC thresholds at midpoints between distinct scores, as pROC does", function()
    local fpr, tpr, thr = M.roc_curve(s, y)
    H.close(fpr, {0, 0, 0.5, 1}, 0)
    H.close(tpr, {0, 1 / 3, 1, 1}, 1e-15)
    assert.are.equal(math.huge, thr[1]); assert.are.equal(-math.huge, thr[4])
    assert.is_true(math.abs(thr[2] - 0.6) < 1e-15 and math.abs(thr[3] - 0.25) < 1e-15)
  end)

  it("chooses the Youden threshold", function()
    local r = M.youden(s, y)
    assert.is_true(math.abs(r.threshold - 0.25) < 1e-15)
    assert.are.equal(0.5, r.j); assert.are.equal(1, r.sensitivity); assert.are.equal(0.5, r.specificity)
  end)

  it("drops missing (NaN) labels with a count", function()
    local auc, dropped = M.roc_auc({0.1, 0.4, 0.4, 0.8, 0.4, 0.9}, {0, 0, 1, 1, 1, 0 / 0})
    assert.is_true(math.abs(auc - 5 / 6) < 1e-15)
    assert.are.equal(1, dropped)
  end)

  it("bootstraps deterministically for a seed, by class or by whole groups", function()
    cnn.manual_seed(7)
    local sc = cnn.rand(200, "float64")
    local lab = (sc + cnn.randn(200, "float64") * 0.3):gt(0.5)
    local a = M.auc_ci(sc, lab, {method = "bootstrap", n_boot = 300, seed = 3})
    local b = M.auc_ci(sc, lab, {method = "bootstrap", n_boot = 300, seed = 3})
    assert.are.equal(a.lower, b.lower); assert.are.equal(a.upper, b.upper)
    assert.is_true(a.lower < a.auc and a.auc < a.upper)
    local groups = cnn.arange(200, "float64"):div(4):floor()   -- 50 subjects, 4 images each
    local g = M.auc_ci(sc, lab, {method = "bootstrap", n_boot = 300, seed = 3, groups = groups})
    assert.is_true(g.lower < g.auc and g.auc < g.upper)
    assert.are_not.equal(a.lower, g.lower)
    local names = {}                                          -- subject ids as strings: the same groups
    for i = 1, 200 do names[i] = ("subject-%02d"):format((i - 1) // 4) end
    local gs = M.auc_ci(sc, lab, {method = "bootstrap", n_boot = 300, seed = 3, groups = names})
    assert.are.equal(g.lower, gs.lower); assert.are.equal(g.upper, gs.upper)
    assert.are.equal("subject-00", names[1])                  -- the caller's table is left alone
    local d = M.auc_ci(sc, lab)                              -- similar width to DeLong's
    assert.is_true(math.abs((a.upper - a.lower) - (d.upper - d.lower)) < 0.05)
  end)

  it("names the function and the problem on bad input", function()
    H.errors(function() M.roc_auc({1, 2}, {0, 2}) end, "cnn.metrics.roc_auc: label 2 is 2, expected 0, 1 or NaN (missing)")
    H.errors(function() M.roc_auc({1, 2, 3}, {0, 1}) end, "cnn.metrics.roc_auc: scores and labels differ in length (3 and 2)")
    H.errors(function() M.roc_auc({1, 2}, {1, 1}) end, "cnn.metrics.roc_auc: AUC needs both classes (got 2 positive and 0 negative)")
    H.errors(function() M.roc_curve({0 / 0, 1}, {0, 1}) end, "cnn.metrics.roc_curve: score 1 is NaN")
    H.errors(function() M.auc_ci(s, y, {method = "magic"}) end, 'cnn.metrics.auc_ci: option method: expected "delong" or "bootstrap", got magic')
    H.errors(function() M.roc_auc("x", y) end, "cnn.metrics.roc_auc: argument 1 (scores): expected a tensor or a table of numbers, got string")
  end)

  it("refuses unknown options instead of ignoring them", function()
    H.errors(function() M.auc_ci(s, y, {conf_level = 0.9}) end,
      "cnn.metrics.auc_ci: argument 3 (options): unknown option 'conf_level' (expected groups, level, method, n_boot, seed)")
    H.errors(function() M.auc_ci(s, y, {method = "bootstrap", nboot = 10}) end, "unknown option 'nboot'")
    H.errors(function() M.auc_ci(s, y, "bootstrap") end, "cnn.metrics.auc_ci: argument 3 (options): expected an options table, got \"bootstrap\"")
    H.errors(function() M.auc_ci(s, y, {n_boot = 10}) end, "cnn.metrics.auc_ci: options n_boot and seed need method=\"bootstrap\"")
    H.errors(function() M.auc_ci(s, y, {method = "bootstrap", n_boot = 0}) end, "cnn.metrics.auc_ci: argument 3 (n_boot): expected a positive integer, got 0")
  end)

  it("names the function the user called, not the one it uses", function()
    H.errors(function() M.precision_recall_f1({1, 2}, {1, 2}) end,
      "cnn.metrics.precision_recall_f1: argument 3 (num_classes): expected a positive integer, got nil")
    H.errors(function() M.precision_recall_f1({1, 4}, {1, 2}, 3) end, "cnn.metrics.precision_recall_f1: prediction 2 is 4, expected a class 1..3")
    H.errors(function() M.auc_ci({1, 2}, {1, 1}) end, "cnn.metrics.auc_ci: AUC needs both classes")
    H.errors(function() M.youden({1, 2}, {0, 2}) end, "cnn.metrics.youden: label 2 is 2")
    H.errors(function() M.spearman({1, 2}, {1, 2, 3}) end, "cnn.metrics.spearman: expected two series of equal length >= 2, got 2 and 3")
    H.errors(function() M.calibration({0.5}, {1}, 0) end, "cnn.metrics.calibration: argument 3 (bins): expected a positive integer, got 0")
  end)
end)

describe("cnn.metrics classification and regression", function()
  it("counts a confusion matrix (rows true, columns predicted)", function()
    local cm = M.confusion_matrix({1, 2, 2, 3, 3}, {1, 2, 3, 3, 1}, 3)
    H.close(cm, {{1, 0, 1}, {0, 1, 0}, {0, 1, 1}}, 0)
    H.errors(function() M.confusion_matrix({1, 4}, {1, 2}, 3) end, "cnn.metrics.confusion_matrix: prediction 2 is 4, expected a class 1..3")
  end)

  it("takes the argmax of logits for accuracy", function()
    local logits = cnn.tensor({{2, 1, 0}, {0, 3, 1}, {1, 0, 5}, {9, 0, 0}})
    assert.are.equal(0.75, M.accuracy(logits, {1, 2, 3, 2}))
  end)

  it("gives per-class precision, recall and f1 like scikit-learn", function()
    -- pred {1,2,2,3}, true {1,2,3,3}: class 2 precision 1/2 recall 1; class 3 precision 1 recall 1/2
    local r = M.precision_recall_f1({1, 2, 2, 3}, {1, 2, 3, 3}, 3)
    H.close(r.precision, {1, 0.5, 1}, 1e-15)
    H.close(r.recall, {1, 1, 0.5}, 1e-15)
    H.close(r.f1, {1, 2 / 3, 2 / 3}, 1e-15)
    assert.is_true(math.abs(r.macro.f1 - 7 / 9) < 1e-15)
  end)

  it("computes mse, pearson, spearman (midranks), brier and calibration", function()
    assert.are.equal(1.5, M.mse({1, 2, 3, 4}, {2, 4, 3, 3}))            -- (1 + 4 + 0 + 1) / 4
    assert.is_true(math.abs(M.pearson({1, 2, 3, 4}, {1, 3, 2, 4}) - 0.8) < 1e-15)
    assert.is_true(math.abs(M.pearson({1, 2, 3}, {3, 2, 1}) + 1) < 1e-15)
    -- ranks of {1,2,2,3} are {1,2.5,2.5,4}: r = 4.5 / sqrt(4.5 * 5)
    assert.is_true(math.abs(M.spearman({1, 2, 2, 3}, {1, 2, 3, 4}) - 4.5 / math.sqrt(22.5)) < 1e-15)
    local b, dropped = M.brier({0.2, 0.9, 0.5}, {0, 1, 0 / 0})
    assert.is_true(math.abs(b - 0.025) < 1e-15); assert.are.equal(1, dropped)
    assert.are.equal("integer", math.type(dropped))                      -- a count, as the other metrics' dropped
    local c = M.calibration({0.05, 0.15, 0.12, 0.95}, {0, 1, 0, 1}, 10)
    assert.are.equal(1, c.count[1]); assert.are.equal(2, c.count[2]); assert.are.equal(1, c.count[10])
    assert.is_true(math.abs(c.mean_predicted[2] - 0.135) < 1e-15)
    assert.are.equal(0.5, c.fraction_positive[2])
    assert.is_true(c.fraction_positive[5] ~= c.fraction_positive[5])     -- empty bin: NaN
  end)

  it("quantiles makes stack room for every result (5000 probabilities overflowed the Lua stack)", function()
    local C = cnn._metrics
    local p = cnn.rand(5000)
    local r = { C.quantiles({1, 2, 3}, p) }
    assert.are.equal(5000, #r)
    assert.are.equal(1 + 2 * p[5000], r[5000])
    H.errors(function() return C.quantiles({1, 2, 3}, cnn.rand(100001)) end,
      "cnn.metrics.quantiles: argument 2 (probs): expected at most 100000 probabilities, got 100001")
  end)

  it("errors from a shared C binding name the function the user called", function()
    -- confusion_matrix's binding counts for precision_recall_f1, roc_curve's for youden, auc's for auc_ci
    H.errors(function() return M.precision_recall_f1({1, 2}, {1, 2}) end,
      "cnn.metrics.precision_recall_f1: argument 3 (num_classes): expected a positive integer, got nil")
    H.errors(function() return M.youden({0.1, 0.2}, {0, 2}) end, "cnn.metrics.youden: label 2 is 2, expected 0, 1 or NaN (missing)")
    H.errors(function() return M.auc_ci({0 / 0, 1}, {0, 1}) end, "cnn.metrics.auc_ci: score 1 is NaN")
    H.errors(function() return M.confusion_matrix({1, 2}, {1, 2}) end,
      "cnn.metrics.confusion_matrix: argument 3 (num_classes): expected a positive integer, got nil")
  end)
end)
