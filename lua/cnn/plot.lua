-- cnn.plot: figures as SVG files any browser shows: ROC curves, line charts (training curves)
-- and heat maps (confusion matrices). Curve points are formatted in C (cnn._plot.points).
local cnn = require "cnn.core"
local A = require "cnn.nn.argcheck"
local P = {}

local W, Hh = 640, 480                      -- canvas
local L, R, T, B = 70, 190, 40, 60          -- margins: left, right (legend), top, bottom
local COLORS = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf" }

local function esc(s)
  return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

local function fail(fn, msg) A.error("cnn.plot." .. fn .. ": " .. msg) end

-- a curve's values as a flat float64 tensor of finite numbers (any numbers when nonfinite)
local function vec(v, fn, what, nonfinite)
  local t
  if cnn.is_tensor(v) then
    if not pcall(v.dtype, v) then fail(fn, what .. ": the tensor was closed") end
    if v:numel() > 2 ^ 26 then fail(fn, ("%s: expected at most 2^26 values, got %s"):format(what, A.describe(v))) end
    t = v:double():reshape(-1)
  elseif type(v) == "table" then
    for k = 1, rawlen(v) do
      if type(rawget(v, k)) ~= "number" then fail(fn, ("%s: element %d is %s, expected a number"):format(what, k, A.describe(rawget(v, k)))) end
    end
    t = A.call(cnn.tensor, table.move(v, 1, rawlen(v), 1, {}), "float64")
  else
    fail(fn, what .. ": expected a tensor or a table of numbers, got " .. A.describe(v))
  end
  if not nonfinite and t:numel() > 0 and (t * 0):sum():item() ~= 0 then fail(fn, what .. ": expected finite values") end
  return t
end

-- the options table (argument 3) with its string fields checked
local function options(fn, opts, allowed)
  opts = A.opts("cnn.plot." .. fn, 3, opts, allowed)
  for _, k in ipairs(allowed) do
    if k ~= "labels" and opts[k] ~= nil and type(opts[k]) ~= "string" then
      A.fail("cnn.plot." .. fn, 3, k, "a string", opts[k])
    end
  end
  return opts
end

-- through the library's one atomic writer (csrc/atomic_file.c): a half-written figure never
-- replaces a good one, and no temporary is left behind
local function write(path, parts, fn)
  if type(path) ~= "string" then fail(fn, "argument 2 (path): expected a string, got " .. type(path)) end
  A.call(cnn._file.write, path, table.concat(parts, "\n") .. "\n", "plot." .. fn)
  return path
end

local function header(title)
  return {
    ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">'):format(W, Hh, W, Hh),
    ('<rect width="%d" height="%d" fill="white"/>'):format(W, Hh),
    title and ('<text x="%d" y="24" text-anchor="middle" font-size="15">%s</text>'):format((L + W - R) / 2, esc(title)) or "",
  }
end

-- round tick steps: 1, 2 or 5 times a power of ten
local function ticks(lo, hi)
  local span = hi - lo
  if span <= 0 then return { lo } end
  local raw = span / 5
  local p = 10 ^ math.floor(math.log(raw, 10))
  local step = p * ((raw / p >= 5) and 5 or (raw / p >= 2) and 2 or 1)
  local t, v = {}, math.ceil(lo / step - 1e-9) * step
  while v <= hi + 1e-9 * span and #t < 50 do t[#t + 1] = v; v = v + step end   -- at most 50 (a step below the ulp)
  return t
end

-- axes frame with ticks; returns the data -> pixel mapping
local function axes(out, xlo, xhi, ylo, yhi, xlabel, ylabel)
  local pw, ph = W - L - R, Hh - T - B
  local sx, sy = pw / (xhi - xlo), -ph / (yhi - ylo)
  local x0, y0 = L - xlo * sx, Hh - B - ylo * sy
  out[#out + 1] = ('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>'):format(L, T, pw, ph)
  for _, v in ipairs(ticks(xlo, xhi)) do
    local px = x0 + sx * v
    out[#out + 1] = ('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>')
      :format(px, T, px, Hh - B, px, Hh - B + 16, ("%g"):format(v))
  end
  for _, v in ipairs(ticks(ylo, yhi)) do
    local py = y0 + sy * v
    out[#out + 1] = ('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>')
      :format(L, py, W - R, py, L - 6, py + 4, ("%g"):format(v))
  end
  out[#out + 1] = ('<text x="%d" y="%d" text-anchor="middle">%s</text>'):format(L + pw / 2, Hh - 18, esc(xlabel or ""))
  out[#out + 1] = ('<text x="18" y="%d" text-anchor="middle" transform="rotate(-90 18 %d)">%s</text>'):format(T + ph / 2, T + ph / 2, esc(ylabel or ""))
  return x0, sx, y0, sy
end

local function legend(out, entries)
  for i, e in ipairs(entries) do
    local y = T + 10 + (i - 1) * 34
    out[#out + 1] = ('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.5"/>'):format(W - R + 10, y, W - R + 30, y, e.color)
    out[#out + 1] = ('<text x="%d" y="%d">%s</text>'):format(W - R + 36, y + 4, esc(e.label))
    if e.sub then out[#out + 1] = ('<text x="%d" y="%d" font-size="10">%s</text>'):format(W - R + 36, y + 17, esc(e.sub)) end
  end
end

-- curves: one curve or a list; a curve is {fpr=, tpr=, label=, auc=, ci={lower, upper}, youden=} where
-- youden is {fpr=, tpr=} or the result of cnn.metrics.youden
-- (fpr, tpr as from cnn.metrics.roc_curve)
function P.roc(curves, path, opts)
  if type(curves) ~= "table" then fail("roc", "argument 1 (curves): expected a curve table or a list of them, got " .. type(curves)) end
  if curves.fpr then curves = { curves } end
  opts = options("roc", opts, { "title" })
  local out = header(opts.title or "ROC curve")
  local x0, sx, y0, sy = axes(out, 0, 1, 0, 1, "1 - specificity (false positive rate)", "sensitivity (true positive rate)")
  out[#out + 1] = ('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888" stroke-dasharray="5,4"/>'):format(x0, y0, x0 + sx, y0 + sy)
  local entries = {}
  for i = 1, rawlen(curves) do
    local c = rawget(curves, i)
    if type(c) ~= "table" or cnn.is_tensor(c) then fail("roc", ("curve %d: expected a table {fpr =, tpr =, ...}, got %s"):format(i, A.describe(c))) end
    local color = COLORS[(i - 1) % #COLORS + 1]
    local fpr, tpr = vec(c.fpr, "roc", "curve " .. i .. " fpr"), vec(c.tpr, "roc", "curve " .. i .. " tpr")
    if fpr:numel() ~= tpr:numel() then fail("roc", ("curve %d: fpr and tpr differ in length (%d and %d)"):format(i, fpr:numel(), tpr:numel())) end
    out[#out + 1] = ('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'):format(color, cnn._plot.points(fpr, tpr, x0, sx, y0, sy))
    if c.youden then            -- {fpr=, tpr=} or cnn.metrics.youden's {sensitivity=, specificity=}
      if type(c.youden) ~= "table" then fail("roc", ("curve %d: youden: expected {fpr=, tpr=} or the table of cnn.metrics.youden"):format(i)) end
      local yf = c.youden.fpr or (c.youden.specificity and 1 - c.youden.specificity)
      local yt = c.youden.tpr or c.youden.sensitivity
      if type(yf) ~= "number" or type(yt) ~= "number" then
        fail("roc", ("curve %d: youden: expected {fpr=, tpr=} or the table of cnn.metrics.youden"):format(i))
      end
      out[#out + 1] = ('<circle cx="%.1f" cy="%.1f" r="5" fill="%s" stroke="black"/>'):format(x0 + sx * yf, y0 + sy * yt, color)
    end
    local sub
    if c.auc ~= nil then
      if type(c.auc) ~= "number" then fail("roc", ("curve %d: auc: expected a number, got %s"):format(i, A.describe(c.auc))) end
      sub = ("AUC %.3f"):format(c.auc)
      if c.ci ~= nil then
        local lo = type(c.ci) == "table" and (c.ci[1] or c.ci.lower)
        local hi = type(c.ci) == "table" and (c.ci[2] or c.ci.upper)
        if type(lo) ~= "number" or type(hi) ~= "number" then
          fail("roc", ("curve %d: ci: expected {lower, upper} or the table of cnn.metrics.auc_ci, got %s"):format(i, A.describe(c.ci)))
        end
        sub = sub .. (" (%.3f-%.3f)"):format(lo, hi)
      end
    end
    entries[#entries + 1] = { label = c.label or ("curve " .. i), sub = sub, color = color }
  end
  legend(out, entries)
  out[#out + 1] = "</svg>"
  return write(path, out, "roc")
end

-- the runs {first, last} of consecutive points where finite[i] (a float64 0/1 tensor) is 1
local function runs(finite)
  local r, start = {}, nil
  local f = finite:totable()
  for i = 1, #f + 1 do
    if f[i] == 1 then start = start or i
    elseif start then r[#r + 1] = { start, i - 1 }; start = nil end
  end
  return r
end

-- series: one or a list of {y=, x= (default 1..n), label=, reference=}; opts: title, xlabel, ylabel.
-- A reference series (an ideal diagonal, a chance level) is drawn grey and dashed and takes no
-- colour, so the others keep the colours they have in the other figures.
-- A point with a NaN or infinite coordinate is left out and breaks its line (a diverged loss);
-- the axes span the finite points; a series with values but no finite point is an error.
function P.lines(series, path, opts)
  if type(series) ~= "table" then fail("lines", "argument 1 (series): expected a series table or a list of them, got " .. type(series)) end
  if series.y then series = { series } end
  opts = options("lines", opts, { "title", "xlabel", "ylabel" })
  local xs, ys, ok = {}, {}, {}
  local xlo, xhi, ylo, yhi = math.huge, -math.huge, math.huge, -math.huge
  for i = 1, rawlen(series) do
    local s = rawget(series, i)
    if type(s) ~= "table" or cnn.is_tensor(s) then fail("lines", ("series %d: expected a table {y =, x =, label =}, got %s"):format(i, A.describe(s))) end
    ys[i] = vec(s.y, "lines", "series " .. i .. " y", true)
    xs[i] = s.x and vec(s.x, "lines", "series " .. i .. " x", true) or cnn.arange(1, ys[i]:numel() + 1, "float64")
    if xs[i]:numel() ~= ys[i]:numel() then fail("lines", ("series %d: x and y differ in length (%d and %d)"):format(i, xs[i]:numel(), ys[i]:numel())) end
    if ys[i]:numel() > 0 then
      ok[i] = ((xs[i] * 0):eq(0) * (ys[i] * 0):eq(0)):double()           -- 1 where both are finite
      local n = ok[i]:sum():item()
      if n == 0 then
        local name = s.label ~= nil and (" (%s)"):format(A.describe(s.label)) or ""
        local what = ys[i]:numel() == 1 and "its only point has" or ("all its %d points have"):format(ys[i]:numel())
        fail("lines", ("series %d%s: %s a NaN or infinite x or y"):format(i, name, what))
      end
      local keep = ok[i]:ne(0)
      xlo = math.min(xlo, cnn.where(keep, xs[i], math.huge):min():item())
      xhi = math.max(xhi, cnn.where(keep, xs[i], -math.huge):max():item())
      ylo = math.min(ylo, cnn.where(keep, ys[i], math.huge):min():item())
      yhi = math.max(yhi, cnn.where(keep, ys[i], -math.huge):max():item())
      if n == ys[i]:numel() then ok[i] = nil end                          -- all finite: one polyline
    end
  end
  if xlo > xhi then xlo, xhi, ylo, yhi = 0, 1, 0, 1 end
  if xhi == xlo then xlo, xhi = xlo - 0.5, xhi + 0.5 end                -- one x: centred
  if yhi == ylo then yhi = ylo + 1 end
  local pad = (yhi - ylo) * 0.05
  local out = header(opts.title)
  local x0, sx, y0, sy = axes(out, xlo, xhi, ylo - pad, yhi + pad, opts.xlabel or "", opts.ylabel or "")
  local entries, used = {}, 0
  for i = 1, #ys do
    local s = rawget(series, i)
    local ref = rawget(s, "reference") == true
    local color = "#888888"
    if not ref then used = used + 1; color = COLORS[(used - 1) % #COLORS + 1] end
    local dash = ref and ' stroke-dasharray="5,4"' or ""
    -- a run of one point has no length as a polyline: it is drawn as a dot
    local function draw(x, y)
      if x:numel() == 1 then
        local px, py = x0 + sx * x:item(), y0 + sy * y:item()
        out[#out + 1] = ('<circle cx="%.2f" cy="%.2f" r="2.5" fill="%s"/>'):format(px, py, color)
      else
        out[#out + 1] = ('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>'):format(
          color, dash, cnn._plot.points(x, y, x0, sx, y0, sy))
      end
    end
    if ok[i] == nil then
      draw(xs[i], ys[i])
    else
      for _, r in ipairs(runs(ok[i])) do
        draw(xs[i]:narrow(1, r[1], r[2] - r[1] + 1), ys[i]:narrow(1, r[1], r[2] - r[1] + 1))
      end
    end
    entries[#entries + 1] = { label = s.label or ("series " .. i), color = color }
  end
  legend(out, entries)
  out[#out + 1] = "</svg>"
  return write(path, out, "lines")
end

-- matrix: a 2-D tensor; opts: labels (for rows and columns), title, xlabel, ylabel
-- counts as they are, other values to 3 significant digits so that they fit their cell
local function cell_text(x)
  if x == math.floor(x) and math.abs(x) < 1e6 then return ("%d"):format(x) end
  return ("%.3g"):format(x)
end

function P.heatmap(matrix, path, opts)
  if cnn.is_tensor(matrix) then A.tensor("cnn.plot.heatmap", 1, "matrix", matrix) end
  if not cnn.is_tensor(matrix) or matrix:dim() ~= 2 then
    fail("heatmap", "argument 1 (matrix): expected a 2-D tensor, got " .. (cnn.is_tensor(matrix) and ("%d-D"):format(matrix:dim()) or type(matrix)))
  end
  opts = options("heatmap", opts, { "labels", "title", "xlabel", "ylabel" })
  if opts.labels ~= nil and type(opts.labels) ~= "table" then A.fail("cnn.plot.heatmap", 3, "labels", "a list of names", opts.labels) end
  local rows, cols = matrix:size(1), matrix:size(2)
  if rows == 0 or cols == 0 or rows * cols > 250000 then
    fail("heatmap", ("argument 1 (matrix): expected 1 to 250000 cells, got %s"):format(A.describe(matrix)))
  end
  local m = vec(matrix, "heatmap", "argument 1 (matrix)"):view(rows, cols)
  local lo, hi = m:min():item(), m:max():item()
  if hi == lo then hi = lo + 1 end
  local out = header(opts.title)
  local labels = opts.labels or {}
  local longest = #tostring(math.max(rows, cols))
  for i = 1, math.max(rows, cols) do longest = math.max(longest, #tostring(labels[i] or i)) end
  -- room for the row labels (plus the y title) and for the column labels written at -45 degrees
  local lm, bm = 36 + 7 * longest, 26 + 5 * longest
  local size = math.min((W - lm - 40) / cols, (Hh - T - bm - 8) / rows)
  local L = lm
  local v = m:totable()                     -- a matrix meant to be read cell by cell
  for r = 1, rows do
    for c = 1, cols do
      local t = (v[r][c] - lo) / (hi - lo)
      local shade = math.floor(255 - 200 * t)
      out[#out + 1] = ('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="rgb(%d,%d,255)" stroke="white"/>'):format(L + (c - 1) * size, T + (r - 1) * size, size, size, shade, shade)
      if size >= 18 then
        out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="%d" fill="%s">%s</text>'):format(
          L + (c - 0.5) * size, T + (r - 0.5) * size + 4, math.min(12, math.floor(size / 3)), t > 0.6 and "white" or "black", cell_text(v[r][c]))
      end
    end
  end
  for i = 1, math.max(rows, cols) do
    local name = esc(labels[i] or i)
    if i <= rows then out[#out + 1] = ('<text x="%d" y="%.1f" text-anchor="end">%s</text>'):format(L - 6, T + (i - 0.5) * size + 4, name) end
    if i <= cols then out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="end" transform="rotate(-45 %.1f %.1f)">%s</text>'):format(L + (i - 0.5) * size, T + rows * size + 14, L + (i - 0.5) * size, T + rows * size + 14, name) end
  end
  out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>'):format(L + cols * size / 2, T + rows * size + bm, esc(opts.xlabel or "predicted"))
  out[#out + 1] = ('<text x="14" y="%.1f" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>'):format(T + rows * size / 2, T + rows * size / 2, esc(opts.ylabel or "true"))
  out[#out + 1] = "</svg>"
  return write(path, out, "heatmap")
end

-- ---- sequence figures: letters scaled by a score (sequence logo style) and a diverging heat map ----

local BASE_COLORS = { A = "#109648", C = "#255c99", G = "#f7b32b", T = "#d62839", U = "#d62839" }
-- DejaVu Sans Bold, per em: advance widths of the letters, and the cap height
local ADVANCE = { A = 0.774, C = 0.734, G = 0.821, T = 0.682, U = 0.812, N = 0.837 }
local CAP = 0.729

-- the table of strings at opts[key] (row or column labels), checked
local function label_list(fn, opts, key)
  local v = opts[key]
  if v == nil then return nil end
  if type(v) == "string" then
    local t = {}
    for c in v:gmatch(".") do t[#t + 1] = c end
    return t
  end
  if type(v) ~= "table" or cnn.is_tensor(v) then A.fail("cnn.plot." .. fn, 3, key, "a list of names or a string", v) end
  local t = {}
  for i = 1, rawlen(v) do
    local x = rawget(v, i)
    if type(x) ~= "string" and type(x) ~= "number" then A.fail("cnn.plot." .. fn, 3, ("%s[%d]"):format(key, i), "a string", x) end
    t[i] = tostring(x)
  end
  return t
end

-- the span {from, to} of opts.highlight (1-based positions, within 1..n)
local function span(fn, opts, n)
  local h = opts.highlight
  if h == nil then return nil end
  local a = type(h) == "table" and not cnn.is_tensor(h) and math.tointeger(rawget(h, 1))
  local b = type(h) == "table" and not cnn.is_tensor(h) and math.tointeger(rawget(h, 2))
  if not a or not b or a < 1 or b < a or b > n then
    A.fail("cnn.plot." .. fn, 3, "highlight", ("{from, to} with 1 <= from <= to <= %d"):format(n), h)
  end
  return { a, b }
end

-- position ticks: every 1, 2, 5, 10, ... positions so that about `most` show
local function every(n, most)
  local step = 1
  for _, s in ipairs({ 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000 }) do
    step = s
    if n / s <= most then break end
  end
  return step
end

-- logo(letters, heights, path [, options]): one letter per position, as tall as its height
-- (below the axis, upside down, when negative); options: title, xlabel, ylabel, highlight
function P.logo(letters, heights, path, opts)
  local fn = "logo"
  if type(letters) ~= "string" or #letters == 0 or #letters > 100000 or letters:find("[^%g]") then
    A.fail("cnn.plot.logo", 1, "letters", "a string of 1 to 100000 printable ASCII letters", letters)
  end
  local h = vec(heights, fn, "argument 2 (heights)")
  local n = #letters
  if h:numel() ~= n then fail(fn, ("argument 2 (heights): expected %d values (one per letter), got %d"):format(n, h:numel())) end
  if type(path) ~= "string" then A.fail("cnn.plot.logo", 3, "path", "a string", path) end
  opts = A.opts("cnn.plot.logo", 4, opts, { "title", "xlabel", "ylabel", "highlight" })
  for _, k in ipairs({ "title", "xlabel", "ylabel" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "string" then A.fail("cnn.plot.logo", 4, k, "a string", opts[k]) end
  end
  local hl = span("logo", opts, n)
  local hv = h:totable()
  local lo, hi = math.min(0, h:min():item()), math.max(0, h:max():item())
  if hi - lo <= 0 then hi = 1 end
  hi, lo = hi + 0.04 * (hi - lo), lo < 0 and lo - 0.04 * (hi - lo) or 0      -- room above the tallest letter
  local Lm, Rm, Tm, Bm = 70, 30, 40, 70
  local pw = math.max(400, math.min(16 * n, 1600))
  local ph = 220
  local cw = pw / n
  local Wd, Ht = Lm + pw + Rm, Tm + ph + Bm
  local sy = ph / (hi - lo)
  local y0 = Tm + hi * sy                           -- the pixel row of 0
  local out = {
    ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">'):format(Wd, Ht, Wd, Ht),
    ('<rect width="%d" height="%d" fill="white"/>'):format(Wd, Ht),
  }
  if opts.title then out[#out + 1] = ('<text x="%.1f" y="24" text-anchor="middle" font-size="15">%s</text>'):format(Lm + pw / 2, esc(opts.title)) end
  if hl then
    out[#out + 1] = ('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="#fff3b0"/>'):format(Lm + (hl[1] - 1) * cw, Tm, (hl[2] - hl[1] + 1) * cw, ph)
  end
  for _, v in ipairs(ticks(lo, hi)) do
    local py = y0 - v * sy
    out[#out + 1] = ('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e4e4e4"/><text x="%d" y="%.1f" text-anchor="end">%s</text>')
      :format(Lm, py, Lm + pw, py, Lm - 6, py + 4, ("%g"):format(v))
  end
  for i = 1, n do
    local c = letters:sub(i, i)
    local v = hv[i]
    local color = BASE_COLORS[c:upper()] or "#666666"
    local x = Lm + (i - 1) * cw
    local hp = math.abs(v) * sy
    if hp > 0 then
      if cw < 4 or not ADVANCE[c:upper()] then     -- too narrow for a glyph, or no glyph width known: a bar
        out[#out + 1] = ('<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"/>'):format(x, v > 0 and y0 - hp or y0, cw, hp, color)
      else
        local sx = 0.92 * cw / (100 * ADVANCE[c:upper()])
        local s = hp / (100 * CAP)
        out[#out + 1] = ('<text font-size="100" font-weight="bold" fill="%s" transform="translate(%.2f %.2f) scale(%.4f %.4f)">%s</text>')
          :format(color, x + 0.04 * cw, y0, sx, v > 0 and s or -s, esc(c:upper()))
      end
    end
  end
  out[#out + 1] = ('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black"/>'):format(Lm, y0, Lm + pw, y0)
  out[#out + 1] = ('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>'):format(Lm, Tm, pw, ph)
  -- the sequence along the axis (when there is room), and position numbers
  if cw >= 7 then
    for i = 1, n do
      local c = letters:sub(i, i)
      out[#out + 1] = ('<text x="%.1f" y="%d" text-anchor="middle" font-family="monospace" font-size="%d" fill="%s">%s</text>')
        :format(Lm + (i - 0.5) * cw, Tm + ph + 15, math.min(13, math.floor(cw)), BASE_COLORS[c:upper()] or "#666666", esc(c))
    end
  end
  local step = every(n, 20)
  for i = step == 1 and 1 or step, n, step do
    out[#out + 1] = ('<text x="%.1f" y="%d" text-anchor="middle" font-size="10" fill="#555">%d</text>'):format(Lm + (i - 0.5) * cw, Tm + ph + 30, i)
  end
  out[#out + 1] = ('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'):format(Lm + pw / 2, Ht - 16, esc(opts.xlabel or "position"))
  out[#out + 1] = ('<text x="18" y="%.1f" text-anchor="middle" transform="rotate(-90 18 %.1f)">%s</text>'):format(Tm + ph / 2, Tm + ph / 2, esc(opts.ylabel or ""))
  out[#out + 1] = "</svg>"
  if not path:match("%S") then A.fail("cnn.plot.logo", 3, "path", "a file name", path) end
  A.call(cnn._file.write, path, table.concat(out, "\n") .. "\n", "plot.logo")
  return path
end

-- the RdBu colour of t in [-1, 1]: blue below 0, white at 0, red above
local function rdbu(t)
  t = math.max(-1, math.min(1, t))
  local r, g, b
  if t < 0 then r, g, b = 33, 102, 172 else r, g, b = 178, 24, 43 end
  local a = math.abs(t)
  return ("rgb(%d,%d,%d)"):format(math.floor(255 + (r - 255) * a + 0.5), math.floor(255 + (g - 255) * a + 0.5), math.floor(255 + (b - 255) * a + 0.5))
end

-- diverging_heatmap(matrix, path [, options]): a 2-D tensor of signed values, blue (negative) to
-- white (0) to red (positive), with a colour bar; options: title, xlabel, ylabel, row_labels,
-- col_labels (lists of names, or a string: one letter each), marks (a tensor of the matrix's
-- shape: a dot in each cell where it is not 0), limit (the colour scale's end; default the
-- largest absolute value)
function P.diverging_heatmap(matrix, path, opts)
  local fn = "cnn.plot.diverging_heatmap"
  A.tensor(fn, 1, "matrix", matrix)
  if matrix:dim() ~= 2 or matrix:numel() == 0 or matrix:numel() > 250000 then
    A.fail(fn, 1, "matrix", "a 2-D tensor of 1 to 250000 cells", matrix)
  end
  if type(path) ~= "string" then A.fail(fn, 2, "path", "a string", path) end
  opts = A.opts(fn, 3, opts, { "title", "xlabel", "ylabel", "row_labels", "col_labels", "marks", "limit" })
  for _, k in ipairs({ "title", "xlabel", "ylabel" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "string" then A.fail(fn, 3, k, "a string", opts[k]) end
  end
  local rows, cols = matrix:size(1), matrix:size(2)
  local m = vec(matrix, "diverging_heatmap", "argument 1 (matrix)"):view(rows, cols)
  local marks
  if opts.marks ~= nil then
    A.tensor(fn, 3, "marks", opts.marks)
    if opts.marks:dim() ~= 2 or opts.marks:size(1) ~= rows or opts.marks:size(2) ~= cols then
      A.fail(fn, 3, "marks", ("a tensor [%d,%d] like the matrix"):format(rows, cols), opts.marks)
    end
    marks = opts.marks:ne(0):totable()
  end
  local limit = opts.limit ~= nil and A.finite(fn, 3, "limit", opts.limit) or m:abs():max():item()
  if not (limit > 0) then limit = 1 end
  local rl, cl = label_list("diverging_heatmap", opts, "row_labels"), label_list("diverging_heatmap", opts, "col_labels")
  local longest = 1
  for i = 1, rows do longest = math.max(longest, #tostring(rl and rl[i] or i)) end
  local cs = math.max(2, math.min(28, math.floor(1200 / cols)))
  local ch = math.max(cs, math.min(28, math.floor(300 / rows)))      -- few rows: taller cells
  if rows * ch > 900 then ch = math.max(1, 900 / rows) end
  local Lm, Tm = 40 + 7 * math.min(longest, 30), opts.title and 40 or 16
  local pw, ph = cols * cs, rows * ch
  local Wd, Ht = Lm + math.max(pw, 200) + 110, Tm + ph + 72
  local out = {
    ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">'):format(Wd, Ht, Wd, Ht),
    ('<rect width="%d" height="%d" fill="white"/>'):format(Wd, Ht),
    '<defs><linearGradient id="rdbu" x1="0" y1="1" x2="0" y2="0">' ..
      ('<stop offset="0" stop-color="%s"/><stop offset="0.5" stop-color="white"/><stop offset="1" stop-color="%s"/>'):format(rdbu(-1), rdbu(1)) ..
      '</linearGradient></defs>',
  }
  if opts.title then out[#out + 1] = ('<text x="%.1f" y="24" text-anchor="middle" font-size="15">%s</text>'):format(Lm + pw / 2, esc(opts.title)) end
  local v = m:totable()
  for r = 1, rows do
    for c = 1, cols do
      out[#out + 1] = ('<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"/>'):format(Lm + (c - 1) * cs, Tm + (r - 1) * ch, cs, ch, rdbu(v[r][c] / limit))
      if marks and marks[r][c] == 1 then
        out[#out + 1] = ('<circle cx="%.2f" cy="%.2f" r="%.2f" fill="#222"/>'):format(Lm + (c - 0.5) * cs, Tm + (r - 0.5) * ch, math.max(0.8, math.min(cs, ch) * 0.17))
      end
    end
  end
  out[#out + 1] = ('<rect x="%d" y="%d" width="%d" height="%.2f" fill="none" stroke="#444"/>'):format(Lm, Tm, pw, ph)
  for r = 1, rows do
    if ch >= 9 or rows <= 40 then
      out[#out + 1] = ('<text x="%d" y="%.1f" text-anchor="end" font-size="%d">%s</text>'):format(Lm - 6, Tm + (r - 0.5) * ch + 4, math.min(12, math.max(6, math.floor(ch))), esc(rl and rl[r] or r))
    end
  end
  if cl and cs >= 7 then
    for c = 1, cols do
      local t = cl[c] or ""
      out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="middle" font-family="monospace" font-size="%d" fill="%s">%s</text>')
        :format(Lm + (c - 0.5) * cs, Tm + ph + 14, math.min(13, cs), BASE_COLORS[t:upper()] or "black", esc(t))
    end
  end
  local step = every(cols, 20)
  for c = step == 1 and 1 or step, cols, step do
    out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10" fill="#555">%d</text>'):format(Lm + (c - 0.5) * cs, Tm + ph + 29, c)
  end
  out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>'):format(Lm + pw / 2, Tm + ph + 50, esc(opts.xlabel or ""))
  out[#out + 1] = ('<text x="14" y="%.1f" text-anchor="middle" transform="rotate(-90 14 %.1f)">%s</text>'):format(Tm + ph / 2, Tm + ph / 2, esc(opts.ylabel or ""))
  -- the colour bar
  local bx, bh = Lm + math.max(pw, 200) + 24, math.max(60, math.min(ph, 200))
  out[#out + 1] = ('<rect x="%d" y="%d" width="14" height="%.1f" fill="url(#rdbu)" stroke="#444"/>'):format(bx, Tm, bh)
  for _, tv in ipairs({ { 1, limit }, { 0.5, 0 }, { 0, -limit } }) do
    out[#out + 1] = ('<text x="%d" y="%.1f" font-size="11">%s</text>'):format(bx + 18, Tm + (1 - tv[1]) * bh + 4, ("%.3g"):format(tv[2]))
  end
  out[#out + 1] = "</svg>"
  if not path:match("%S") then A.fail(fn, 2, "path", "a file name", path) end
  A.call(cnn._file.write, path, table.concat(out, "\n") .. "\n", "plot.diverging_heatmap")
  return path
end

return P
