-- cnn.amd's evaluation against cases worked by hand: AUC (Mann-Whitney), DeLong's variance from
-- the placement values with pROC's exact z, the Youden threshold as pROC's midpoint, sensitivity
-- and specificity at a given threshold, counts of images, eyes and subjects, the averaged AUC,
-- bootstrap intervals that resample subjects, and the files written (CSV columns as issue 19 lists).
local cnn = require "cnn"
local amd = cnn.amd
local NaN = 0 / 0

local function near(a, b, tol) assert(math.abs(a - b) <= (tol or 1e-12), ("%.15g vs %.15g"):format(a, b)) end

-- cutoff 2: positives 0.9, 0.8, 0.6 and negatives 0.7, 0.4, 0.3, 0.2 (11 of 12 pairs ordered);
-- cutoff 3: positives 0.9, 0.7 and negatives 0.8, 0.2 (3 of 4 pairs)
local function rows()
  local r = {}
  local function add(cutoff, subject, eye, prob, label)
    r[#r + 1] = { model = "m", cutoff = cutoff, subject = subject, eye = eye, visit_years = 0, image = "x.png",
                  label = label, prob = prob }
  end
  add(2, "S1", "L", 0.9, 1); add(2, "S1", "R", 0.8, 1); add(2, "S2", "L", 0.7, 0)
  add(2, "S2", "L", 0.6, 1); add(2, "S3", "R", 0.4, 0); add(2, "S4", "L", 0.3, 0)
  add(2, "S4", "R", 0.2, 0)
  add(3, "S1", "L", 0.9, 1); add(3, "S2", "L", 0.8, 0); add(3, "S3", "R", 0.7, 1); add(3, "S4", "L", 0.2, 0)
  return r
end

describe("cnn.amd.evaluate", function()
  it("gives AUC, DeLong CI, Youden threshold, sensitivity, specificity and counts as worked by hand", function()
    local res = amd.evaluate(rows(), { n_boot = 300 })
    assert.are.equal(3, #res)
    local r = res[1]
    assert.are.equal("m", r.model); assert.are.equal(2, r.cutoff)
    assert.are.equal(7, r.n_images); assert.are.equal(6, r.n_eyes); assert.are.equal(4, r.n_subjects)
    near(r.auc, 11 / 12)
    -- placements: positives {1, 1, 3/4} (S10 = 1/48), negatives {2/3, 1, 1, 1} (S01 = 1/36);
    -- var = S10/3 + S01/4 = 1/72
    local half = 1.959963984540054 * math.sqrt(1 / 72)
    near(r.delong_lower, 11 / 12 - half, 1e-9)
    assert.are.equal(1, r.delong_upper)                        -- clipped
    -- J = 2/3 at the midpoint 0.75 (sens 2/3, spec 1), 3/4 at 0.5 (sens 1, spec 3/4)
    near(r.youden_threshold, 0.5); near(r.sensitivity, 1); near(r.specificity, 3 / 4)
    assert.is_true(r.boot_lower <= r.auc and r.auc <= r.boot_upper)
    near(res[2].auc, 3 / 4)
    assert.are.equal("mean", res[3].cutoff)
    near(res[3].auc, (11 / 12 + 3 / 4) / 2)
    -- the same call gives the same bootstrap interval (seeded)
    local again = amd.evaluate(rows(), { n_boot = 300 })
    assert.are.equal(r.boot_lower, again[1].boot_lower)
  end)

  it("uses the model's own threshold when given", function()
    local res = amd.evaluate(rows(), { n_boot = 50, thresholds = { m = { [2] = 0.65 } } })
    near(res[1].youden_threshold, 0.65)
    near(res[1].sensitivity, 2 / 3)      -- 0.9, 0.8 above; 0.6 not
    near(res[1].specificity, 3 / 4)      -- 0.4, 0.3, 0.2 at or below; 0.7 above
  end)

  it("resamples subjects in the bootstrap: one subject per row equals the stratified-free group draw", function()
    -- every row its own subject: the interval equals metrics.auc_ci's with those groups
    local r = rows()
    for i, row in ipairs(r) do row.subject = "P" .. i end
    local res = amd.evaluate(r, { n_boot = 200, seed = 3 })
    local probs, labels, groups = {}, {}, {}
    for i = 1, 7 do probs[i], labels[i], groups[i] = r[i].prob, r[i].label, "P" .. i end
    local b = cnn.metrics.auc_ci(probs, labels, { method = "bootstrap", groups = groups, n_boot = 200, seed = 3 })
    assert.are.equal(b.lower, res[1].boot_lower); assert.are.equal(b.upper, res[1].boot_upper)
  end)

  it("turns a data set and probabilities into rows, leaving missing labels out", function()
    local set = { n = 2, cutoffs = { 2, 3 }, labels = cnn.tensor({ { 1, NaN }, { 0, 0 } }), subjects = { "S1", "S2" },
                  eyes = { "S1:L", "S2:R" }, years = { 0, 1.5 }, image_names = { "a.png", "b.png" } }
    local r = amd.prediction_rows("image", set, cnn.tensor({ { 0.9, 0.8 }, { 0.2, 0.1 } }))
    assert.are.equal(3, #r)
    assert.are.same({ "image", 2, "S1", "L", 0, "a.png", 1 }, { r[1].model, r[1].cutoff, r[1].subject, r[1].eye, r[1].visit_years, r[1].image, r[1].label })
    near(r[1].prob, 0.9, 1e-7)
    assert.are.equal(3, r[3].cutoff); assert.are.equal("R", r[3].eye)
  end)

  it("writes predictions.csv, results.csv (issue 19's columns), results.md, roc.svg, calibration.svg", function()
    local dir = os.tmpname()
    os.remove(dir)
    local r = rows()
    local res = amd.evaluate(r, { n_boot = 50 })
    amd.write_evaluation(dir, r, res)
    local pred = cnn.data.csv.read(dir .. "/predictions.csv")
    assert.are.same({ "model", "cutoff", "subject", "eye", "visit_years", "image", "label", "prob" }, pred.names)
    assert.are.equal(11, pred.nrows)
    local f = assert(io.open(dir .. "/results.csv"))
    local header, first = f:read("l"), f:read("l")
    f:close()
    assert.are.equal("model,cutoff,n_images,n_eyes,n_subjects,auc,delong_lower,delong_upper,boot_lower,boot_upper,youden_threshold,sensitivity,specificity", header)
    assert.are.equal("m,2,7,6,4,0.916667,", first:sub(1, 19))
    for _, name in ipairs({ "results.md", "roc.svg", "calibration.svg" }) do
      local h = assert(io.open(dir .. "/" .. name))
      assert.is_true(#h:read("a") > 100)
      h:close()
    end
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)

describe("cnn.amd.results_markdown and write_evaluation", function()
  it("check their arguments before reading a field", function()
    local amd = require("cnn").amd
    local H = require "helpers"
    H.errors(function() amd.results_markdown(3) end,
      "cnn.amd.results_markdown: argument 1 (results): expected a list of result rows from cnn.amd.evaluate, got 3")
    H.errors(function() amd.results_markdown({ 5 }) end, "(row 1 is not one)")
    H.errors(function() amd.write_evaluation("", {}, {}) end, "cnn.amd.write_evaluation: argument 1 (dir): expected a folder name")
    H.errors(function() amd.write_evaluation("/nonexistent/never-made", { {} }, {}) end,
      "cnn.amd.write_evaluation: argument 2 (rows): expected a list of prediction rows from cnn.amd.evaluate (row 1 is not one)")
    H.errors(function() amd.write_evaluation("/nonexistent/never-made", {}, true) end, "argument 3 (results)")
  end)
end)
