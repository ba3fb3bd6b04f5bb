-- cnn.metrics: classification, regression and ROC evaluation. The numerics (ranks, ROC points,
-- DeLong variance, bootstrap replicates, quantiles) are C (csrc/metrics.c); this module checks
-- options and composes. Labels for ROC functions are 0/1 with NaN for missing: missing pairs
-- are dropped and counted. Higher scores mean the positive class.
local cnn = require "cnn.core"
local A = require "cnn.nn.argcheck"
local C = cnn._metrics
local M = {}

-- C.f(...) for the user's function fn: a C error names fn, not the internal binding
local call = A.call_as

local function as_tensor(x, fn, i, name)
  if cnn.is_tensor(x) then return A.tensor(fn, i, name, x) end
  return A.numbers(fn, i, name, x)
end

-- class predictions: logits/probabilities (N, C) become their argmax
local function classes(pred, fn)
  pred = as_tensor(pred, fn, 1, "pred")
  if pred:dim() == 2 then return call(fn, pred.argmax, pred, 2) end
  return pred
end

function M.accuracy(pred, target)
  local fn = "cnn.metrics.accuracy"
  local p, t = classes(pred, fn), as_tensor(target, fn, 2, "target")
  if p:numel() ~= t:numel() then
    A.error(("%s: pred and target differ in length (%d and %d)"):format(fn, p:numel(), t:numel()))
  end
  -- compared as float64: either may be int64 (argmax, labels) or floats holding integers
  return call(fn, function() return p:reshape(-1):double():eq(t:reshape(-1):double()):mean():item() end)
end

-- rows: true class, columns: predicted class
local function confusion(fn, pred, target, num_classes)
  local p = classes(pred, fn)
  local t = as_tensor(target, fn, 2, "target")
  local k = A.int(fn, 3, "num_classes", num_classes, 1)
  return call(fn, C.confusion_matrix, p, t, k), k
end
function M.confusion_matrix(pred, target, num_classes)
  return (confusion("cnn.metrics.confusion_matrix", pred, target, num_classes))
end

-- per-class precision, recall, f1 (tensors) and their macro averages
function M.precision_recall_f1(pred, target, num_classes)
  local cm, k = confusion("cnn.metrics.precision_recall_f1", pred, target, num_classes)
  local tp = (cm * cnn.eye(k, "float64")):sum(2)
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

-- two series of equal length (at least `min`) as flat float64 tensors
local function series(fn, x, y, names, min)
  local a = call(fn, function(t) return t:double():reshape(-1) end, as_tensor(x, fn, 1, names[1]))
  local b = call(fn, function(t) return t:double():reshape(-1) end, as_tensor(y, fn, 2, names[2]))
  if a:numel() ~= b:numel() or a:numel() < min then
    A.error(("%s: expected two series of equal length >= %d, got %d and %d"):format(fn, min, a:numel(), b:numel()))
  end
  return a, b
end

function M.mse(pred, target)
  local a, b = series("cnn.metrics.mse", pred, target, { "pred", "target" }, 1)
  return (a - b):square():mean():item()
end

local function pearson(a, b)
  local da, db = a - a:mean(), b - b:mean()
  return ((da * db):sum() / ((da * da):sum() * (db * db):sum()):sqrt()):item()
end

function M.pearson(x, y)
  return pearson(series("cnn.metrics.pearson", x, y, { "x", "y" }, 2))
end

function M.spearman(x, y)
  local fn = "cnn.metrics.spearman"
  local a, b = series(fn, x, y, { "x", "y" }, 2)
  return pearson(call(fn, C.ranks, a), call(fn, C.ranks, b))
end

-- fpr, tpr, thresholds (decreasing, from +inf to -inf, midpoints between distinct scores), dropped
function M.roc_curve(scores, labels)
  return call("cnn.metrics.roc_curve", C.roc_curve, scores, labels)
end

function M.roc_auc(scores, labels)
  local auc, _, dropped = call("cnn.metrics.roc_auc", C.auc, scores, labels)
  return auc, dropped
end

-- auc_ci(scores, labels [, {method = "delong" | "bootstrap", level = 0.95, n_boot = 2000, seed = 1,
-- groups =}]) -> {auc, lower, upper, level, method, var (DeLong), dropped [, n_boot]}
function M.auc_ci(scores, labels, opts)
  local fn = "cnn.metrics.auc_ci"
  opts = A.opts(fn, 3, opts, { "method", "level", "n_boot", "seed", "groups" })
  local method = opts.method or "delong"
  if method ~= "delong" and method ~= "bootstrap" then
    A.error(("%s: option method: expected \"delong\" or \"bootstrap\", got %s"):format(fn, tostring(method)))
  end
  local level = opts.level or 0.95
  if type(level) ~= "number" or not (level > 0 and level < 1) then
    A.error(fn .. ": option level: expected a number in (0,1), got " .. tostring(level))
  end
  local auc, var, dropped = call(fn, C.auc, scores, labels)
  local r = { auc = auc, var = var, level = level, method = method, dropped = dropped }
  if method == "delong" then
    if opts.groups ~= nil then A.error(fn .. ": option groups needs method=\"bootstrap\"") end
    if opts.n_boot ~= nil or opts.seed ~= nil then A.error(fn .. ": options n_boot and seed need method=\"bootstrap\"") end
    local z = C.normal_quantile(1 - (1 - level) / 2)
    local half = z * math.sqrt(var)
    r.lower, r.upper = math.max(0, auc - half), math.min(1, auc + half)
  else
    local n_boot = A.int(fn, 3, "n_boot", opts.n_boot, 1, 2000)
    if n_boot > 10000000 then A.fail(fn, 3, "n_boot", "an integer in 1..1e7", n_boot) end
    local seed = A.int(fn, 3, "seed", opts.seed, nil, 1)
    local groups = opts.groups
    if type(groups) == "table" and not cnn.is_tensor(groups) then   -- subject ids of any kind -> 1, 2, ...
      local ids, codes = {}, {}
      for i = 1, rawlen(groups) do
        local g = rawget(groups, i)
        if g == nil or g ~= g then A.fail(fn, 3, ("groups[%d]"):format(i), "a group id", g) end
        if ids[g] == nil then ids[g] = i end
        codes[i] = ids[g]
      end
      groups = codes
    elseif groups ~= nil and not cnn.is_tensor(groups) then
      A.fail(fn, 3, "groups", "a list of group ids or a tensor", groups)
    end
    local state = cnn.get_rng_state()
    cnn.manual_seed(seed)
    local ok, reps = pcall(call, fn, C.auc_bootstrap, scores, labels, groups, n_boot)
    cnn.set_rng_state(state)
    if not ok then error(reps, 0) end
    r.lower, r.upper = C.quantiles(reps, { (1 - level) / 2, 1 - (1 - level) / 2 })
    r.n_boot = n_boot
  end
  return r
end

-- the threshold maximising Youden's J = sensitivity + specificity - 1 (the highest such threshold)
function M.youden(scores, labels)
  local fpr, tpr, thr, dropped = call("cnn.metrics.youden", C.roc_curve, scores, labels)
  local j = tpr - fpr
  local i = j:argmax():item()
  return {
    threshold = thr[i], j = j[i], sensitivity = tpr[i], specificity = 1 - fpr[i], dropped = dropped,
  }
end

function M.brier(scores, labels)
  local fn = "cnn.metrics.brier"
  local s, y = series(fn, scores, labels, { "scores", "labels" }, 0)
  local keep = y:eq(y)                                -- NaN labels are missing
  local n = math.tointeger(keep:double():sum():item())   -- an exact count (float32 sums stop at 2^24)
  if n == 0 then A.error(fn .. ": no labelled pairs") end
  local d = cnn.where(keep, s - cnn.where(keep, y, 0), 0)
  return ((d * d):sum() / n):item(), s:numel() - n
end

-- equal-width bins over [0,1]: mean predicted, observed fraction positive, count (NaN when empty)
function M.calibration(scores, labels, bins)
  local fn = "cnn.metrics.calibration"
  bins = A.int(fn, 3, "bins", bins, 1, 10)
  local mp, fp, count, dropped = call(fn, C.calibration, scores, labels, bins)
  return { mean_predicted = mp, fraction_positive = fp, count = count, dropped = dropped }
end

return M
