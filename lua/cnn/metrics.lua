-- cnn.metrics: classification, regression and ROC evaluation. The numerics (ranks, ROC points,
-- DeLong variance, bootstrap replicates, quantiles) are C (csrc/metrics.c); this module checks
-- options and composes. Labels for ROC functions are 0/1 with NaN for missing: missing pairs
-- are dropped and counted. Higher scores mean the positive class.
local cnn = require "cnn.core"
local C = cnn._metrics
local M = {}

local function fail(fn, msg) error("cnn.metrics." .. fn .. ": " .. msg, 3) end

local function as_tensor(x, fn, name)
  if cnn.is_tensor(x) then return x end
  if type(x) == "table" then return cnn.tensor(x, "float64") end
  fail(fn, ("argument %s: expected a tensor or a table of numbers, got %s"):format(name, type(x)))
end

-- class predictions: logits/probabilities (N, C) become their argmax
local function classes(pred, fn)
  pred = as_tensor(pred, fn, "1 (pred)")
  if pred:dim() == 2 then return pred:argmax(2) end
  return pred
end

function M.accuracy(pred, target)
  local p, t = classes(pred, "accuracy"), as_tensor(target, "accuracy", "2 (target)")
  if p:numel() ~= t:numel() then
    fail("accuracy", ("pred and target differ in length (%d and %d)"):format(p:numel(), t:numel()))
  end
  return p:reshape(-1):eq(t:reshape(-1)):double():mean():item()
end

-- rows: true class, columns: predicted class
function M.confusion_matrix(pred, target, num_classes)
  return C.confusion_matrix(classes(pred, "confusion_matrix"), target, num_classes)
end

-- per-class precision, recall, f1 (tensors) and their macro averages
function M.precision_recall_f1(pred, target, num_classes)
  local cm = C.confusion_matrix(classes(pred, "precision_recall_f1"), target, num_classes, "metrics.precision_recall_f1")
  local tp = (cm * cnn.eye(num_classes, "float64")):sum(2)
  local predicted, actual = cm:sum(1), cm:sum(2)
  -- 0/0 is taken as 0, as scikit-learn does (with a warning there)
  local precision = cnn.where(predicted:gt(0), tp / predicted:clamp(1), 0)
  local recall = cnn.where(actual:gt(0), tp / actual:clamp(1), 0)
  local denom = precision + recall
  local f1 = cnn.where(denom:gt(0), precision * recall * 2 / cnn.where(denom:gt(0), denom, 1), 0)
  return {
    precision = precision, recall = recall, f1 = f1, support = actual,
    macro = { precision = precision:mean():item(), recall = recall:mean():item(), f1 = f1:mean():item() },
  }
end

function M.mse(pred, target)
  local a, b = as_tensor(pred, "mse", "1 (pred)"):double(), as_tensor(target, "mse", "2 (target)"):double()
  return (a - b):square():mean():item()
end

function M.pearson(x, y)
  local a, b = as_tensor(x, "pearson", "1 (x)"):double():reshape(-1), as_tensor(y, "pearson", "2 (y)"):double():reshape(-1)
  if a:numel() ~= b:numel() or a:numel() < 2 then
    fail("pearson", ("expected two series of equal length >= 2, got %d and %d"):format(a:numel(), b:numel()))
  end
  local da, db = a - a:mean(), b - b:mean()
  return ((da * db):sum() / ((da * da):sum() * (db * db):sum()):sqrt()):item()
end

function M.spearman(x, y)
  return M.pearson(C.ranks(as_tensor(x, "spearman", "1 (x)"), "metrics.spearman"),
                   C.ranks(as_tensor(y, "spearman", "2 (y)"), "metrics.spearman"))
end

-- fpr, tpr, thresholds (decreasing, from +inf to -inf, midpoints between distinct scores), dropped
function M.roc_curve(scores, labels)
  return C.roc_curve(scores, labels)
end

function M.roc_auc(scores, labels)
  local auc, _, dropped = C.auc(scores, labels)
  return auc, dropped
end

-- {auc, lower, upper, level, method, var (DeLong), dropped}
function M.auc_ci(scores, labels, opts)
  opts = opts or {}
  local method, level = opts.method or "delong", opts.level or 0.95
  if type(level) ~= "number" or not (level > 0 and level < 1) then
    fail("auc_ci", "option level: expected a number in (0,1), got " .. tostring(level))
  end
  local auc, var, dropped = C.auc(scores, labels, "metrics.auc_ci")
  local r = { auc = auc, var = var, level = level, method = method, dropped = dropped }
  if method == "delong" then
    if opts.groups then fail("auc_ci", "option groups needs method=\"bootstrap\"") end
    local z = C.normal_quantile(1 - (1 - level) / 2)
    local half = z * math.sqrt(var)
    r.lower, r.upper = math.max(0, auc - half), math.min(1, auc + half)
  elseif method == "bootstrap" then
    local n_boot = opts.n_boot or 2000
    local state = cnn.get_rng_state()
    cnn.manual_seed(opts.seed or 1)
    local groups = opts.groups
    if type(groups) == "table" and not cnn.is_tensor(groups) then   -- subject ids of any kind -> 1, 2, ...
      local ids, codes = {}, {}
      for i, g in ipairs(groups) do
        if ids[g] == nil then ids[g] = i end
        codes[i] = ids[g]
      end
      groups = codes
    end
    local ok, reps = pcall(C.auc_bootstrap, scores, labels, groups, n_boot)
    cnn.set_rng_state(state)
    if not ok then error(reps, 2) end
    r.lower, r.upper = C.quantiles(reps, { (1 - level) / 2, 1 - (1 - level) / 2 })
    r.n_boot = n_boot
  else
    fail("auc_ci", ("option method: expected \"delong\" or \"bootstrap\", got %s"):format(tostring(method)))
  end
  return r
end

-- the threshold maximising Youden's J = sensitivity + specificity - 1 (the highest such threshold)
function M.youden(scores, labels)
  local fpr, tpr, thr, dropped = C.roc_curve(scores, labels, "metrics.youden")
  local j = tpr - fpr
  local i = j:argmax():item()
  return {
    threshold = thr[i], j = j[i], sensitivity = tpr[i], specificity = 1 - fpr[i], dropped = dropped,
  }
end

function M.brier(scores, labels)
  local s, y = as_tensor(scores, "brier", "1 (scores)"):double():reshape(-1), as_tensor(labels, "brier", "2 (labels)"):double():reshape(-1)
  local keep = y:eq(y)                                -- NaN labels are missing
  local n = keep:sum():item()
  if n == 0 then fail("brier", "no labelled pairs") end
  local d = cnn.where(keep, s - cnn.where(keep, y, 0), 0)
  return ((d * d):sum() / n):item(), s:numel() - n
end

-- equal-width bins over [0,1]: mean predicted, observed fraction positive, count (NaN when empty)
function M.calibration(scores, labels, bins)
  local mp, fp, count, dropped = C.calibration(scores, labels, bins or 10)
  return { mean_predicted = mp, fraction_positive = fp, count = count, dropped = dropped }
end

return M
