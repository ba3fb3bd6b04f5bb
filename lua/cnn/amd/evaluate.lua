-- Evaluating the AMD models on the test subjects: prediction rows (one per image with a label at
-- a cutoff), per model and cutoff the AUC with DeLong's CI (pROC's), a bootstrap CI resampling
-- subjects, the Youden threshold (pROC's midpoints) with sensitivity and specificity at it, the
-- AUC averaged over the cutoffs, and the files: predictions.csv, results.csv, results.md,
-- roc.svg (one panel per cutoff), calibration.svg. Spec: spec/amd_evaluate_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"

local M = {}
local NaN = 0 / 0
local metrics = cnn.metrics

-- cnn.amd.prediction_rows(name, set, probs) -> rows {model, cutoff, subject, eye, visit_years,
-- image, label, prob}, one per image with a non-missing label at each cutoff (cutoff-major)
function M.prediction_rows(name, set, probs)
  local fn = "cnn.amd.prediction_rows"
  A.str(fn, 1, "name", name)
  A.tensor(fn, 3, "probs", probs)
  if probs:size(1) ~= set.n or probs:size(2) ~= #set.cutoffs then
    A.error(("%s: argument 3 (probs): expected %d x %d, got %s"):format(fn, set.n, #set.cutoffs, A.describe(probs)))
  end
  local P, Y = probs:double():totable(), set.labels:double():totable()
  local rows = {}
  for k, cutoff in ipairs(set.cutoffs) do
    for i = 1, set.n do
      local y = Y[i][k]
      if y == y then
        local v = set.visits and set.visits[i]
        rows[#rows + 1] = { model = name, cutoff = cutoff, subject = set.subjects[i],
                            eye = v and v.eye or set.eyes[i]:match(":(.*)$"), visit_years = set.years[i],
                            image = set.image_names and set.image_names[i] or "", label = y, prob = P[i][k] }
      end
    end
  end
  return rows
end

-- cnn.amd.oracle_probs(cohort, set) -> (N,K) the simulator's P(time >= k) from truth.csv, or nil
function M.oracle_probs(cohort, set)
  if not cohort.truth then return nil end
  local rows = {}
  for i = 1, set.n do
    local t = cohort.truth[set.image_names[i]] or cohort.truth[set.paths[i]]
    rows[i] = {}
    for k, c in ipairs(set.cutoffs) do
      rows[i][k] = t and (t["p" .. c] or t[c - 1]) or NaN
    end
  end
  return cnn.tensor(rows, "float64")
end

local function distinct(list)
  local seen, n = {}, 0
  for _, v in ipairs(list) do if not seen[v] then seen[v], n = true, n + 1 end end
  return n
end

-- the order in which names first appear
local function ordered(rows, field)
  local seen, out = {}, {}
  for _, r in ipairs(rows) do
    local v = r[field]
    if not seen[v] then seen[v] = true; out[#out + 1] = v end
  end
  return out
end

-- sensitivity and specificity of "positive when prob > thr"
local function sens_spec(probs, labels, thr)
  local tp, p, tn, n = 0, 0, 0, 0
  for i, y in ipairs(labels) do
    if y == 1 then p = p + 1; if probs[i] > thr then tp = tp + 1 end
    else n = n + 1; if probs[i] <= thr then tn = tn + 1 end end
  end
  return p > 0 and tp / p or NaN, n > 0 and tn / n or NaN
end

-- cnn.amd.evaluate(rows [, {thresholds =, n_boot = 2000, seed = 1, level = 0.95}]) -> results:
-- one row per model and cutoff {model, cutoff, n_images, n_eyes, n_subjects, auc, delong_lower,
-- delong_upper, boot_lower, boot_upper, youden_threshold, sensitivity, specificity} and one per
-- model with cutoff "mean" (the AUC averaged over its cutoffs; the other fields NaN).
-- thresholds[model][cutoff]: the model's own Youden threshold (from its training data); where
-- absent, the Youden threshold of these rows. Sensitivity and specificity are at the threshold.
function M.evaluate(rows, opts)
  local fn = "cnn.amd.evaluate"
  if type(rows) ~= "table" then A.fail(fn, 1, "rows", "a list of prediction rows", rows) end
  opts = A.opts(fn, 2, opts, { "thresholds", "n_boot", "seed", "level" })
  local thresholds = opts.thresholds or {}
  local results = {}
  for _, name in ipairs(ordered(rows, "model")) do
    local sum, count = 0, 0
    local mine = {}
    for _, r in ipairs(rows) do if r.model == name then mine[#mine + 1] = r end end
    for _, cutoff in ipairs(ordered(mine, "cutoff")) do
      local probs, labels, subjects, eyes = {}, {}, {}, {}
      for _, r in ipairs(mine) do
        if r.cutoff == cutoff then
          probs[#probs + 1], labels[#labels + 1] = r.prob, r.label
          subjects[#subjects + 1], eyes[#eyes + 1] = r.subject, r.subject .. ":" .. r.eye
        end
      end
      local res = { model = name, cutoff = cutoff, n_images = #probs, n_eyes = distinct(eyes),
                    n_subjects = distinct(subjects), auc = NaN, delong_lower = NaN, delong_upper = NaN,
                    boot_lower = NaN, boot_upper = NaN, youden_threshold = NaN, sensitivity = NaN, specificity = NaN }
      local npos = 0
      for _, y in ipairs(labels) do npos = npos + y end
      if npos > 0 and npos < #labels then
        local d = metrics.auc_ci(probs, labels, { level = opts.level })
        local b = metrics.auc_ci(probs, labels, { method = "bootstrap", groups = subjects, level = opts.level,
                                                  n_boot = opts.n_boot or 2000, seed = opts.seed or 1 })
        res.auc, res.delong_lower, res.delong_upper, res.boot_lower, res.boot_upper = d.auc, d.lower, d.upper, b.lower, b.upper
        local thr = thresholds[name] and thresholds[name][cutoff]
        if thr == nil or thr ~= thr then thr = metrics.youden(probs, labels).threshold end
        res.youden_threshold = thr
        res.sensitivity, res.specificity = sens_spec(probs, labels, thr)
        sum, count = sum + d.auc, count + 1
      end
      results[#results + 1] = res
    end
    results[#results + 1] = { model = name, cutoff = "mean", n_images = #mine, n_eyes = NaN, n_subjects = NaN,
                              auc = count > 0 and sum / count or NaN, delong_lower = NaN, delong_upper = NaN,
                              boot_lower = NaN, boot_upper = NaN, youden_threshold = NaN, sensitivity = NaN,
                              specificity = NaN }
  end
  return results
end

-- ---- files ----

local PRED_COLS = { "model", "cutoff", "subject", "eye", "visit_years", "image", "label", "prob" }
local RES_COLS = { "model", "cutoff", "n_images", "n_eyes", "n_subjects", "auc", "delong_lower", "delong_upper",
                   "boot_lower", "boot_upper", "youden_threshold", "sensitivity", "specificity" }

local function field(v)
  if type(v) == "number" then
    if v ~= v then return "NA" end
    if math.type(v) == "integer" or (v == math.floor(v) and math.abs(v) < 1e15) then return ("%d"):format(v) end
    return ("%.6g"):format(v)
  end
  v = tostring(v)
  if v:find('[,"\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

local function csv(rows, cols)
  local out = { table.concat(cols, ",") }
  for _, r in ipairs(rows) do
    local f = {}
    for j, c in ipairs(cols) do f[j] = field(r[c]) end
    out[#out + 1] = table.concat(f, ",")
  end
  return table.concat(out, "\n") .. "\n"
end

local function write(path, text) A.call(cnn._file.write, path, text, "amd.write_evaluation") end

-- cnn.amd.results_markdown(results) -> the results as a Markdown table
-- a list of row tables (evaluate's rows or results), checked before any field is read
local function check_rows(fn, i, name, v, what)
  if type(v) ~= "table" then A.fail(fn, i, name, what, v) end
  for k, r in ipairs(v) do
    if type(r) ~= "table" or r.model == nil or r.cutoff == nil then
      A.fail(fn, i, name, what .. " (row " .. k .. " is not one)", r)
    end
  end
end

function M.results_markdown(results)
  check_rows("cnn.amd.results_markdown", 1, "results", results, "a list of result rows from cnn.amd.evaluate")
  local f = function(v, p) return (type(v) ~= "number" or v ~= v) and "" or (p or "%.3f"):format(v) end
  local out = { "| model | cutoff | images | eyes | subjects | AUC | DeLong 95% CI | bootstrap 95% CI (subjects) | Youden threshold | sensitivity | specificity |",
                "|---|---|---|---|---|---|---|---|---|---|---|" }
  for _, r in ipairs(results) do
    local mean = r.cutoff == "mean"
    out[#out + 1] = ("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"):format(
      r.model, mean and "**mean**" or tostring(r.cutoff), f(r.n_images, "%d"), f(r.n_eyes, "%d"), f(r.n_subjects, "%d"),
      mean and ("**" .. f(r.auc) .. "**") or f(r.auc),
      r.delong_lower == r.delong_lower and ("%.3f-%.3f"):format(r.delong_lower, r.delong_upper) or "",
      r.boot_lower == r.boot_lower and ("%.3f-%.3f"):format(r.boot_lower, r.boot_upper) or "",
      f(r.youden_threshold), f(r.sensitivity), f(r.specificity))
  end
  return table.concat(out, "\n") .. "\n"
end

-- a grid of SVG figures (each as cnn.plot writes them) as one SVG
local function svg_grid(files, ncol, path)
  local W, H = 640, 480
  local nrow = math.ceil(#files / ncol)
  local out = { ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">'):format(
    W * ncol, H * nrow, W * ncol, H * nrow), ('<rect width="%d" height="%d" fill="white"/>'):format(W * ncol, H * nrow) }
  for i, f in ipairs(files) do
    local h = assert(io.open(f, "r"))
    local s = h:read("a")
    h:close()
    os.remove(f)
    local x, y = ((i - 1) % ncol) * W, ((i - 1) // ncol) * H
    out[#out + 1] = (s:gsub("^%s*<svg ", ('<svg x="%d" y="%d" '):format(x, y), 1))
  end
  out[#out + 1] = "</svg>"
  write(path, table.concat(out, "\n") .. "\n")
end

-- cnn.amd.write_evaluation(dir, rows, results) writes predictions.csv, results.csv, results.md,
-- roc.svg (one panel per cutoff, the models overlaid with AUC, DeLong CI and the Youden point)
-- and calibration.svg (one panel per cutoff), each atomically; returns the list of paths
function M.write_evaluation(dir, rows, results)
  local fn = "cnn.amd.write_evaluation"
  A.str(fn, 1, "dir", dir)
  if dir == "" then A.fail(fn, 1, "dir", "a folder name", dir) end
  check_rows(fn, 2, "rows", rows, "a list of prediction rows from cnn.amd.evaluate")
  check_rows(fn, 3, "results", results, "a list of result rows from cnn.amd.evaluate")
  os.execute(("mkdir -p '%s'"):format(dir:gsub("'", "'\\''")))
  write(dir .. "/predictions.csv", csv(rows, PRED_COLS))
  write(dir .. "/results.csv", csv(results, RES_COLS))
  write(dir .. "/results.md", M.results_markdown(results))
  local by = {}
  for _, r in ipairs(results) do by[r.model .. "|" .. tostring(r.cutoff)] = r end
  local roc_files, cal_files = {}, {}
  local tmp = os.tmpname()
  os.remove(tmp)
  for _, cutoff in ipairs(ordered(rows, "cutoff")) do
    local curves, series = {}, { { x = { 0, 1 }, y = { 0, 1 }, label = "ideal", reference = true } }
    for _, name in ipairs(ordered(rows, "model")) do
      local probs, labels = {}, {}
      for _, r in ipairs(rows) do
        if r.model == name and r.cutoff == cutoff then probs[#probs + 1], labels[#labels + 1] = r.prob, r.label end
      end
      local res = by[name .. "|" .. tostring(cutoff)]
      if res and res.auc == res.auc then
        local fpr, tpr = metrics.roc_curve(probs, labels)
        local s, sp = res.sensitivity, res.specificity
        curves[#curves + 1] = { fpr = fpr, tpr = tpr, label = name, auc = res.auc,
                                ci = { res.delong_lower, res.delong_upper },
                                youden = (s == s and sp == sp) and { sensitivity = s, specificity = sp } or nil }
        local c = metrics.calibration(probs, labels, 10)
        local x, y = {}, {}
        for b = 1, 10 do
          if c.count[b] > 0 then x[#x + 1], y[#y + 1] = c.mean_predicted[b], c.fraction_positive[b] end
        end
        if #x > 0 then series[#series + 1] = { x = x, y = y, label = name } end
      end
    end
    if #curves > 0 then
      roc_files[#roc_files + 1] = cnn.plot.roc(curves, ("%s-roc-%s.svg"):format(tmp, cutoff),
        { title = ("time to late AMD >= %s years"):format(cutoff) })
      cal_files[#cal_files + 1] = cnn.plot.lines(series, ("%s-cal-%s.svg"):format(tmp, cutoff),
        { title = ("calibration, >= %s years"):format(cutoff), xlabel = "mean predicted probability",
          ylabel = "fraction with label 1" })
    end
  end
  local paths = { dir .. "/predictions.csv", dir .. "/results.csv", dir .. "/results.md" }
  if #roc_files > 0 then
    svg_grid(roc_files, 3, dir .. "/roc.svg")
    svg_grid(cal_files, 3, dir .. "/calibration.svg")
    paths[#paths + 1], paths[#paths + 2] = dir .. "/roc.svg", dir .. "/calibration.svg"
  end
  return paths
end

return M
