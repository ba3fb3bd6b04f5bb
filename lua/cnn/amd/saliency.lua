-- Saliency maps of an AMD model's output for one cutoff over the input pixels: the authors' plain
-- gradient (|d P(time >= k) / d pixel|, maximum over the colour channels, rescaled to [0,1]),
-- SmoothGrad (the same averaged over noisy copies of the image) and Grad-CAM (the trunk's last
-- block through a forward hook and retain_grad), and the paper's figure: one row per visit of an
-- eye, the image then one 50% overlay per cutoff. Spec: spec/amd_saliency_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local font = require "cnn.amd.font"

local M = {}
local NaN = 0 / 0

-- the position of cutoff year k among the model's cutoffs
local function cutoff_index(fn, model, k)
  for i, c in ipairs(model.cutoffs) do if c == k then return i end end
  A.fail(fn, 3, "cutoff", "one of the model's cutoffs (" .. table.concat(model.cutoffs, ", ") .. ")", k)
end

-- each map (N,H,W) rescaled to [0,1] by its own minimum and maximum (all 0 when constant)
local function rescale(s)
  local n = s:size(1)
  local flat = s:reshape(n, -1)
  local lo, hi = flat:min(2, true), flat:max(2, true)
  local span = hi - lo
  local out = cnn.where(span:gt(0), (flat - lo) / cnn.where(span:gt(0), span, 1), 0)
  return out:view(s:size())
end
M._rescale = rescale

-- d out_k / d x for images x (N,3,H,W) as a (N,3,H,W) tensor; the output summed over the batch
-- (each image's output depends on that image only in eval mode)
local function input_grad(model, x, k, g, c)
  local xi = x:detach():to(model.img_mean:dtype()):requires_grad(true)
  local p = model(xi, g, c):select(2, k):sum()
  return cnn.grad(p, { xi })[1]
end

-- cnn.amd.saliency(model, x, cutoff [, {geno =, covariates =, method = "gradient", samples = 16,
-- noise = 0.15, seed = 1, rescale = true}]) -> (N,H,W) maps for images x (N,3,H,W) or (3,H,W) in
-- [0,1]. method "gradient": |dP/dx| maximum over channels; "smoothgrad": that averaged over
-- `samples` copies of x plus Gaussian noise of sd `noise`; "gradcam": ReLU of the last block's
-- channels weighted by their mean gradient, resized (bilinear) to the image. rescale = false
-- returns the raw values (before the [0,1] rescaling of each map).
function M.saliency(model, x, cutoff, opts)
  local fn = "cnn.amd.saliency"
  if type(model) ~= "table" or not model.cutoffs then A.fail(fn, 1, "model", "an AMD model (cnn.amd.model)", model) end
  if not model.uses_image then A.error(fn .. ": the geno design has no image input") end
  A.tensor(fn, 2, "x", x)
  local single = x:dim() == 3
  if single then x = x:unsqueeze(1) end
  if x:dim() ~= 4 or x:size(2) ~= 3 then A.fail(fn, 2, "x", "images (N,3,H,W) or (3,H,W)", x) end
  local k = cutoff_index(fn, model, cutoff)
  opts = A.opts(fn, 4, opts, { "geno", "covariates", "method", "samples", "noise", "seed", "rescale" })
  local method = opts.method or "gradient"
  local n = x:size(1)
  local g = opts.geno or cnn.full({ n, 52 }, NaN, model.img_mean:dtype())
  local c = opts.covariates or model.cov_mean:view(1, -1):expand(n, 3):contiguous()
  g, c = g:to(model.img_mean:dtype()), c:to(model.img_mean:dtype())
  local was = model.training
  model:eval()
  local s
  if method == "gradient" then
    s = input_grad(model, x, k, g, c):abs():max(2)
  elseif method == "smoothgrad" then
    local samples = A.int(fn, 4, "samples", opts.samples, 1, 16)
    local sd = A.num(fn, 4, "noise", opts.noise, 0.15, 0)
    local state = cnn.get_rng_state()
    cnn.manual_seed(A.int(fn, 4, "seed", opts.seed, nil, 1))
    for _ = 1, samples do
      local noisy = x:to(model.img_mean:dtype()) + cnn.randn(x:size(), model.img_mean:dtype()) * sd
      local m = input_grad(model, noisy, k, g, c):abs():max(2)
      s = s and s + m or m
    end
    cnn.set_rng_state(state)
    s = s / samples
  elseif method == "gradcam" then
    local act
    local h = model.trunk:last_block():register_forward_hook(function(_, _, out) act = out:retain_grad() end)
    local ok, err = pcall(function()
      model(x:to(model.img_mean:dtype()), g, c):select(2, k):sum():backward()
    end)
    h:remove()
    if not ok then error(err, 0) end
    local w = act.grad:mean({ 3, 4 }, true)
    local cam = (w * act:detach()):sum(2, true):relu()            -- (N,1,h,w)
    local H, W = x:size(3), x:size(4)
    local maps = {}
    for i = 1, n do maps[i] = cnn.image.resize(cam[i], { H, W }):squeeze(1) end
    s = cnn.stack(maps, 1)
    model:zero_grad()
  else
    A.fail(fn, 4, "method", '"gradient", "smoothgrad" or "gradcam"', method)
  end
  model:train(was)
  s = s:detach()
  if opts.rescale ~= false then s = rescale(s) end
  if single then s = s:squeeze(1) end
  return s
end

-- ---- the paper's figure ----

local function fmt(v, f)
  if v == nil or v ~= v then return "NA" end
  return (f or "%.2f"):format(v)
end

-- cnn.amd.saliency_figure(model, set, rows, path [, {method =, probs =}]) writes a PNG grid: one
-- row per visit (the data set's rows `rows`, in order), column 1 the image captioned with the
-- visit year and the time to late AMD (or to censoring, "+"), then one overlay per cutoff captioned
-- "label/probability" (NA when missing); the header row gives each cutoff and its Youden
-- threshold. Returns the caption lines (also written beside the PNG as a .txt legend).
function M.saliency_figure(model, set, rows, path, opts)
  local fn = "cnn.amd.saliency_figure"
  opts = A.opts(fn, 5, opts, { "method", "probs" })
  local size = set.images.size
  local tiles, legend = {}, {}
  local K = #model.cutoffs
  local bar_h = 12
  local function captioned(img, text)
    local cap = font.render(text, size, bar_h)
    return cnn.cat({ img, cap }, 2)
  end
  -- header: the cutoffs and their thresholds
  tiles[#tiles + 1] = captioned(cnn.ones(3, size, size), "IMAGE")
  for k, c in ipairs(model.cutoffs) do
    local thr = model.thresholds and model.thresholds[k]
    tiles[#tiles + 1] = captioned(font.render((">=%dY"):format(c), size, size), ("T=%s"):format(fmt(thr)))
  end
  legend[1] = "# one row per visit: visit years, time to late AMD (event) or censoring (+); per cutoff: label/probability; header: cutoff, Youden threshold"
  local hdr = { "cutoff" }
  for k, c in ipairs(model.cutoffs) do hdr[#hdr + 1] = (">=%d y (threshold %s)"):format(c, fmt(model.thresholds and model.thresholds[k])) end
  legend[#legend + 1] = table.concat(hdr, "\t")
  for _, r in ipairs(rows) do
    local idx = cnn.tensor({ r }, "int64")
    local x = set.images:get({ r })
    local g, c = set.geno:index_select(1, idx), set.covariates:index_select(1, idx)
    local c_filled = cnn.where(c:ne(c), model.cov_mean:view(1, -1), c)
    local probs = cnn.no_grad(function() return model:eval()(x, g, c_filled) end):double()
    local t, e = set.time[r], set.event[r]
    local tlabel = ("%s%s"):format(fmt(t, "%.1f"), e == 1 and "" or "+")
    tiles[#tiles + 1] = captioned(x[1], ("%sY %s"):format(fmt(set.years[r], "%.1f"), tlabel))
    local line = { ("visit %.1f y, time %s"):format(set.years[r], tlabel) }
    for k, cut in ipairs(model.cutoffs) do
      local m = M.saliency(model, x[1], cut, { geno = g, covariates = c_filled, method = opts.method })
      local y = set.labels[r][k]
      local cap = ("%s/%s"):format(y == y and ("%d"):format(y) or "NA", fmt(probs[1][k]))
      tiles[#tiles + 1] = captioned(cnn.image.overlay(x[1], m, 0.5), cap)
      line[#line + 1] = cap
    end
    legend[#legend + 1] = table.concat(line, "\t")
  end
  cnn.image.save(cnn.image.grid(tiles, K + 1), path)
  local txt = path:gsub("%.png$", "") .. ".txt"
  A.call(cnn._file.write, txt, table.concat(legend, "\n") .. "\n", "amd.saliency_figure")
  return legend
end

return M
