-- Genomic prediction of complex traits (the public names merged into cnn.genomics): the cohort
-- simulator, genotypes kept as 2-bit codes (BedMatrix), the linear baselines (GRM, GBLUP by
-- REML, ridge with CV lambda, preselection), the guide's networks and their training loop, the
-- Pearson correlation and the predicted-vs-observed figure. docs/genomics.md is the reference;
-- examples/genomics/gp.lua the comparison script. Spec: genomics_gp_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local B = require "cnn.genomics.bedmatrix"
local L = require "cnn.genomics.gblup"
local N = require "cnn.genomics.networks"

local P = {
  simulate_genotypes = require "cnn.genomics.simulate_genotypes",
  open_bed = B.open_bed, from_dosage = B.from_dosage, read_pheno = B.read_pheno, BedMatrix = B.BedMatrix,
  grm = L.grm, gblup = L.gblup, ridge = L.ridge, preselect = L.preselect,
  mlp = N.mlp, convnet = N.convnet, fit_network = N.fit_network,
}

local function vec(fn, i, name, v)
  if type(v) == "table" and not cnn.is_tensor(v) then v = A.numbers(fn, i, name, v) end
  A.tensor(fn, i, name, v)
  return v:reshape(v:numel()):double()
end

-- pearson(a, b) -> the correlation of two vectors of equal length (NaN when one is constant)
function P.pearson(a, b)
  local fn = "cnn.genomics.pearson"
  a, b = vec(fn, 1, "a", a), vec(fn, 2, "b", b)
  if a:numel() ~= b:numel() then A.fail(fn, 2, "b", ("%d values like argument 1"):format(a:numel()), b) end
  local ac, bc = a - a:mean(), b - b:mean()
  local den = math.sqrt((ac * ac):sum():item() * (bc * bc):sum():item())
  return den > 0 and (ac * bc):sum():item() / den or 0 / 0
end

local COLORS = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf" }

local function esc(s) return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;")) end

local function nice_ticks(lo, hi)
  local span = hi - lo
  local step = 10 ^ math.floor(math.log(span / 5, 10))
  for _, m in ipairs({ 1, 2, 5, 10 }) do if span / (step * m) <= 6 then step = step * m; break end end
  local t = {}
  for v = math.ceil(lo / step) * step, hi + 1e-9 * span, step do t[#t + 1] = v end
  return t
end

-- plot_predictions(series, path [, {title=, xlabel=, ylabel=}]): predicted (y axis) against
-- observed (x axis), one colour per series {observed=, predicted=, label=}, the identity line
-- dashed, each legend entry with its Pearson r. An SVG of 640 x 480, written atomically.
function P.plot_predictions(series, path, opts)
  local fn = "cnn.genomics.plot_predictions"
  A.table(fn, 1, "series", series, "a list of {observed=, predicted=, label=}")
  A.str(fn, 2, "path", path)
  opts = A.opts(fn, 3, opts, { "title", "xlabel", "ylabel" })
  local data, lo, hi = {}, math.huge, -math.huge
  for k = 1, rawlen(series) do
    local s = rawget(series, k)
    A.table(fn, 1, ("series[%d]"):format(k), s)
    local o, p = vec(fn, 1, ("series[%d].observed"):format(k), s.observed), vec(fn, 1, ("series[%d].predicted"):format(k), s.predicted)
    if o:numel() ~= p:numel() then A.fail(fn, 1, ("series[%d].predicted"):format(k), ("%d values like observed"):format(o:numel()), p) end
    local ot, pt = o:totable(), p:totable()
    for i = 1, #ot do
      local a, b = ot[i], pt[i]
      if a == a and b == b then lo = math.min(lo, a, b); hi = math.max(hi, a, b) end
    end
    data[k] = { o = ot, p = pt, label = s.label or ("series " .. k), r = P.pearson(o, p) }
  end
  if #data == 0 then A.fail(fn, 1, "series", "at least one series", series) end
  if lo == math.huge then lo, hi = 0, 1 end
  if hi - lo < 1e-12 then lo, hi = lo - 0.5, hi + 0.5 end
  local pad = (hi - lo) * 0.04
  lo, hi = lo - pad, hi + pad
  local X0, X1, Y0, Y1 = 70, 470, 430, 50
  local function sx(v) return X0 + (v - lo) / (hi - lo) * (X1 - X0) end
  local function sy(v) return Y0 + (v - lo) / (hi - lo) * (Y1 - Y0) end
  local out = {
    '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480" viewBox="0 0 640 480" font-family="sans-serif" font-size="12">',
    '<rect width="640" height="480" fill="white"/>',
    ('<text x="320" y="28" text-anchor="middle" font-size="15">%s</text>'):format(esc(opts.title or "Predicted vs observed")),
    ('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>'):format(X0, Y1, X1 - X0, Y0 - Y1),
  }
  for _, v in ipairs(nice_ticks(lo, hi)) do
    out[#out + 1] = ('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333"/><text x="%.1f" y="%d" text-anchor="middle">%g</text>')
      :format(sx(v), Y0, sx(v), Y0 + 5, sx(v), Y0 + 19, tonumber(("%.4g"):format(v)))
    out[#out + 1] = ('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#333"/><text x="%d" y="%.1f" text-anchor="end">%g</text>')
      :format(X0 - 5, sy(v), X0, sy(v), X0 - 8, sy(v) + 4, tonumber(("%.4g"):format(v)))
  end
  out[#out + 1] = ('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="5,4"/>'):format(sx(lo), sy(lo), sx(hi), sy(hi))
  out[#out + 1] = ('<text x="%d" y="466" text-anchor="middle">%s</text>'):format((X0 + X1) // 2, esc(opts.xlabel or "observed"))
  out[#out + 1] = ('<text x="18" y="%d" text-anchor="middle" transform="rotate(-90 18 %d)">%s</text>')
    :format((Y0 + Y1) // 2, (Y0 + Y1) // 2, esc(opts.ylabel or "predicted"))
  for k, d in ipairs(data) do
    local col = COLORS[(k - 1) % #COLORS + 1]
    local pts = { ('<g fill="%s" fill-opacity="0.55">'):format(col) }
    for i = 1, #d.o do
      if d.o[i] == d.o[i] and d.p[i] == d.p[i] then
        pts[#pts + 1] = ('<circle cx="%.1f" cy="%.1f" r="2.5"/>'):format(sx(d.o[i]), sy(d.p[i]))
      end
    end
    pts[#pts + 1] = "</g>"
    out[#out + 1] = table.concat(pts)
    local ly = Y1 + 8 + (k - 1) * 34
    out[#out + 1] = ('<circle cx="%d" cy="%d" r="5" fill="%s"/><text x="%d" y="%d">%s</text><text x="%d" y="%d" fill="#555">r = %.3f</text>')
      :format(X1 + 18, ly, col, X1 + 28, ly + 4, esc(d.label), X1 + 28, ly + 19, d.r)
  end
  out[#out + 1] = "</svg>"
  A.call(cnn._file.write, path, table.concat(out, "\n") .. "\n", "genomics.plot_predictions")
  return path
end

return P
