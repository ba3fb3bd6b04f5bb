local cnn = require "cnn"
local H = require "helpers"

-- the SVG must parse as XML; counts elements by name
local function parse(path)
  local lxp = require "lxp"
  local counts, text = {}, {}
  local p = lxp.new({
    StartElement = function(_, name) counts[name] = (counts[name] or 0) + 1 end,
    CharacterData = function(_, s) text[#text + 1] = s end,
  })
  local f = assert(io.open(path))
  local ok, err = p:parse(f:read("a"))
  f:close()
  assert(ok, "invalid XML: " .. tostring(err))
  assert(p:parse(), "invalid XML at the end")
  p:close()
  return counts, table.concat(text, "|")
end

describe("cnn.plot", function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)

  it("draws ROC curves with AUC and CI in the legend and a Youden point", function()
    local s, y = {0.1, 0.4, 0.35, 0.8, 0.6, 0.2}, {0, 0, 1, 1, 1, 0}
    local fpr, tpr = cnn.metrics.roc_curve(s, y)
    local ci = cnn.metrics.auc_ci(s, y)
    local j = cnn.metrics.youden(s, y)
    local path = cnn.plot.roc({{fpr = fpr, tpr = tpr, label = "images & genotypes", auc = ci.auc,
      ci = {ci.lower, ci.upper}, youden = j}},
      dir .. "/roc.svg", {title = "k = 2 <years>"})
    local counts, text = parse(path)
    assert.are.equal(1, counts.polyline)
    assert.are.equal(1, counts.circle)
    assert.truthy(text:find("AUC 0.889", 1, true))
    assert.truthy(text:find("images & genotypes", 1, true))
    assert.truthy(text:find("k = 2 <years>", 1, true))
  end)

  it("draws training curves and a labelled heat map", function()
    local counts = parse(cnn.plot.lines({{y = {3, 2, 1.5, 1.2}, label = "train"}, {y = cnn.tensor({3.1, 2.5, 2.2, 2.1}), label = "test"}},
      dir .. "/loss.svg", {xlabel = "epoch", ylabel = "loss"}))
    assert.are.equal(2, counts.polyline)
    local c2, text = parse(cnn.plot.heatmap(cnn.tensor({{5, 1}, {2, 7}}), dir .. "/cm.svg", {labels = {"shirt", "coat"}}))
    assert.are.equal(4 + 1, c2.rect)                         -- 4 cells + the background
    assert.truthy(text:find("shirt", 1, true))
  end)

  it("draws a reference series grey and dashed, without taking a colour from the others", function()
    local path = cnn.plot.lines({{x = {0, 1}, y = {0, 1}, label = "ideal", reference = true}, {y = {0.2, 0.5}, label = "a"},
                                 {y = {0.3, 0.4}, label = "b"}}, dir .. "/ref.svg")
    local plain = cnn.plot.lines({{y = {0.2, 0.5}, label = "a"}, {y = {0.3, 0.4}, label = "b"}}, dir .. "/plain.svg")
    local function strokes(p)
      local f = assert(io.open(p)); local s = f:read("a"); f:close()
      local out = {}
      for st, rest in s:gmatch('<polyline fill="none" stroke="([^"]+)"([^/]*)') do out[#out + 1] = st .. (rest:find("dasharray") and " dashed" or "") end
      return out
    end
    local r, p = strokes(path), strokes(plain)
    assert.are.equal("#888888 dashed", r[1])
    assert.are.same(p, { r[2], r[3] })                          -- a and b keep their colours
    assert.falsy(p[1]:find("dashed"))
  end)

  it("draws a series of one point (a one-epoch run's curves) as a dot, not an empty line", function()
    local counts = parse(cnn.plot.lines({{y = {0.6}, label = "train"}, {y = {0.4}, label = "test"}},
      dir .. "/one.svg", {xlabel = "epoch"}))
    assert.are.equal(2, counts.circle)
    assert.is_nil(counts.polyline)
  end)

  it("breaks a line at NaN and infinite points and takes the axes from the finite ones", function()
    local path = cnn.plot.lines({y = {1, 0 / 0, 3, 2, 2.5, 1 / 0, 1.5, 0 / 0, 1.2, 1.1, 1}, label = "loss"}, dir .. "/nan.svg")
    local counts, text = parse(path)
    assert.are.equal(2, counts.polyline)                     -- 3..5 and 9..11, no line through the NaNs
    assert.are.equal(2, counts.circle)                       -- the lone points 1 and 7
    local f = assert(io.open(path)); local svg = f:read("a"); f:close()
    assert.is_nil(svg:lower():find("nan", 1, true)); assert.is_nil(svg:lower():find("inf", 1, true))
    assert.truthy(text:find("|3|", 1, true)); assert.truthy(text:find("|10|", 1, true))   -- y up to 3, x up to 11
    counts = parse(cnn.plot.lines({y = {1, 2, 3}, x = {1, 0 / 0, 3}}, dir .. "/nanx.svg"))
    assert.are.equal(2, counts.circle)
    H.errors(function() cnn.plot.lines({y = {0 / 0, 0 / 0}}, dir .. "/x.svg") end, "cnn.plot.lines: series 1: all its 2 points have a NaN or infinite x or y")
    H.errors(function() cnn.plot.lines({{y = {1, 2}}, {y = {0 / 0}, label = "val"}}, dir .. "/x.svg") end,
      'cnn.plot.lines: series 2 ("val"): its only point has a NaN or infinite x or y')
  end)

  it("rejects bad arguments with a clear message", function()
    H.errors(function() cnn.plot.heatmap(cnn.ones(3), dir .. "/x.svg") end, "cnn.plot.heatmap: argument 1 (matrix): expected a 2-D tensor, got 1-D")
    H.errors(function() cnn.plot.lines({y = {1, 2}, x = {1}}, dir .. "/x.svg") end, "cnn.plot.lines: series 1: x and y differ in length (1 and 2)")
    H.errors(function() cnn.plot.roc({fpr = {0, 1}, tpr = {0, 1}}, dir .. "/no/such/dir/x.svg") end, "cnn.plot.roc: cannot write")
  end)

  teardown(function() os.execute("rm -rf " .. dir) end)
end)
