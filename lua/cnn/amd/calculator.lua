-- cnn.amd.calculator: the web risk calculator. One page (plain HTML and CSS, no script, nothing
-- from the internet) to upload a fundus photograph with genotypes, age and smoking, a result page
-- with the probabilities, calls and saliency, and the same numbers as JSON; on cnn.http.
-- The model files are loaded once, at start; requests are decoded in memory (nothing written to
-- disk) and answered by cnn.amd.predict, the function behind examples/amd/predict.lua.
-- docs/calculator.md is the guide; spec/amd_calculator_spec.lua and spec/calculator_browser_spec.lua
-- the checks.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local http = require "cnn.http"

local M = {}

-- the longer side a photograph is decoded at (libjpeg's scaled IDCT for JPEG): the models see
-- a few hundred pixels at most, so a 4,000-pixel upload never costs a full-size decode
local DECODE_SIDE = 1024
local MAX_PNG_PIXELS = 40000000
local PREFERENCE = { "image+geno", "survival", "image" }   -- the default model, in this order

local DISCLAIMER = "Research software, not clinical advice. The models were trained on a simulated " ..
  "cohort (cnn.amd.simulate) unless real weights were loaded; their probabilities describe that cohort, not you."

-- a 4xx answer carrying a message for the page and the API
local function bad(status, msg) error({ status = status, message = msg }, 0) end

local function base64(s)
  local ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local pad = (3 - #s % 3) % 3
  s = s .. ("\0"):rep(pad)
  local out = s:gsub("(.)(.)(.)", function(a, b, c)
    local n = a:byte() * 65536 + b:byte() * 256 + c:byte()
    local i1, i2, i3, i4 = n >> 18, (n >> 12) & 63, (n >> 6) & 63, n & 63
    return ALPHA:sub(i1 + 1, i1 + 1) .. ALPHA:sub(i2 + 1, i2 + 1) .. ALPHA:sub(i3 + 1, i3 + 1) .. ALPHA:sub(i4 + 1, i4 + 1)
  end)
  return out:sub(1, #out - pad) .. ("="):rep(pad)
end

local function png_uri(t) return "data:image/png;base64," .. base64(cnn.image.encode(t, "png")) end

-- the message of a library error without its position and function prefix
local function reason(e)
  e = tostring(e)
  return e:match("^[^\n]-:%d+: cnn%.[%w_.:]+: (.*)$") or e:match("^cnn%.[%w_.:]+: (.*)$") or e
end

-- the 52 variants as the page names them: rsID, gene, the counted allele and whether it raises risk
local function variant_rows(model)
  local by_id = {}
  for _, s in ipairs(cnn.amd.snps) do by_id[s.id] = s end
  local rows = {}
  for j, name in ipairs(model.snps or {}) do
    local id, allele = tostring(name):match("^(.-)_(%w+)$")
    id = id or tostring(name)
    local s = by_id[id] or {}
    allele = allele or s.allele or "?"
    local risk
    if s.effect then
      if s.allele == allele then risk = s.effect > 0 else risk = s.effect < 0 end
    end
    rows[j] = { name = name, id = id, gene = s.gene or "", allele = allele,
                other = s.allele == allele and s.other or s.allele, risk = risk }
  end
  return rows
end

-- a PLINK .raw text (header and one person) -> a list of 52 counts in the model's order (NaN =
-- missing); columns are matched by rsID, a column counting the other allele is turned around
local function parse_raw(text, variants)
  local lines = {}
  for line in text:gmatch("[^\r\n]+") do
    if line:find("%S") then lines[#lines + 1] = line end
  end
  if #lines < 2 then bad(400, "the .raw file needs its header line and one person's row") end
  local head, row = {}, {}
  for w in lines[1]:gmatch("%S+") do head[#head + 1] = w end
  for w in lines[2]:gmatch("%S+") do row[#row + 1] = w end
  if head[1] ~= "FID" or head[2] ~= "IID" or #head < 7 then
    bad(400, "the .raw file's header must start FID IID PAT MAT SEX PHENOTYPE (PLINK --recode A)")
  end
  if #row ~= #head then bad(400, ("the .raw file's first row has %d fields, its header %d"):format(#row, #head)) end
  local want = {}
  for j, v in ipairs(variants) do want[v.id] = j end
  local out, unknown = {}, {}
  for j = 1, #variants do out[j] = 0 / 0 end
  for c = 7, #head do
    local id, allele = head[c]:match("^(.-)_(%w+)$")
    local j = id and want[id]
    if not j then
      unknown[#unknown + 1] = head[c]
    elseif row[c] ~= "NA" then
      local x = tonumber(row[c])
      if x ~= 0 and x ~= 1 and x ~= 2 then
        bad(400, ("the .raw file gives %s the value '%s': expected 0, 1, 2 or NA"):format(head[c], row[c]))
      end
      if allele ~= variants[j].allele then x = 2 - x end
      out[j] = x
    end
  end
  if #unknown > 0 then
    bad(400, ("the .raw file holds variants this model does not use: %s (it needs the 52 of the page)")
      :format(table.concat(unknown, ", ", 1, math.min(#unknown, 5)) .. (#unknown > 5 and ", ..." or "")))
  end
  return out
end

-- the form (page or API) -> predict's options
local function read_form(app, req, saliency)
  local model, variants = app.model, app.variants
  local opts = { saliency = saliency and "gradient" or false }
  if model.uses_image then
    local photo = http.field(req, "photo")
    if not photo or #photo.value == 0 then bad(400, "no photograph uploaded (field photo: a PNG or JPEG file)") end
    -- a PNG is decoded at full size (no scaled decoding): refuse a decompression bomb from its
    -- header (width and height, big-endian, at bytes 17..24) before any pixel is decoded
    if photo.value:sub(1, 8) == "\137PNG\r\n\26\n" and #photo.value >= 24 then
      local w, h = string.unpack(">I4>I4", photo.value, 17)
      if w * h > MAX_PNG_PIXELS then
        bad(413, ("the photograph is %d x %d pixels: a PNG may have at most %d megapixels (a JPEG any size)")
          :format(w, h, MAX_PNG_PIXELS // 1000000))
      end
    end
    local ok, img = pcall(cnn.image.decode, photo.value, { channels = 3, max_side = DECODE_SIDE })
    if not ok then bad(400, "the photograph could not be read: " .. reason(img)) end
    opts.image = img
  end
  local g, given = {}, 0
  for j, v in ipairs(variants) do
    local f = http.field(req, "snp_" .. v.id)
    local s = f and f.value or ""
    if s == "" or s == "unknown" then g[j] = 0 / 0
    elseif s == "0" or s == "1" or s == "2" then g[j] = tonumber(s); given = given + 1
    else bad(400, ("genotype %s: expected 0, 1, 2 or unknown, got '%s'"):format(v.id, s:sub(1, 20))) end
  end
  local raw = http.field(req, "raw")
  if raw and #raw.value > 0 then
    local r = parse_raw(raw.value, variants)
    for j = 1, #variants do if r[j] == r[j] then g[j] = r[j]; given = given + 1 end end
  end
  if #variants > 0 then opts.genotypes = g end
  local age = http.field(req, "age")
  if age and age.value ~= "" then
    local a = tonumber(age.value)
    if not a or a < 40 or a > 110 then bad(400, ("age: expected a number of years in 40..110, got '%s'"):format(age.value:sub(1, 20))) end
    opts.age = a
  end
  local smoking = http.field(req, "smoking")
  if smoking and smoking.value ~= "" and smoking.value ~= "unknown" then
    if smoking.value ~= "never" and smoking.value ~= "former" and smoking.value ~= "current" then
      bad(400, ("smoking: expected never, former, current or unknown, got '%s'"):format(smoking.value:sub(1, 20)))
    end
    opts.smoking = smoking.value
  end
  return opts
end

local function predict(app, req, saliency)
  local opts = read_form(app, req, saliency)
  local ok, r = pcall(cnn.amd.predict, app.model, opts)
  if not ok then
    if type(r) == "table" then error(r, 0) end
    bad(400, reason(r))
  end
  local imputed = {}
  if app.model.uses_geno then
    for j, v in ipairs(app.variants) do
      if opts.genotypes[j] ~= opts.genotypes[j] then imputed[#imputed + 1] = v.id end
    end
  end
  if app.model.covariates then
    if opts.age == nil then imputed[#imputed + 1] = "age" end
    if opts.smoking == nil then imputed[#imputed + 1] = "smoking" end
  end
  r.imputed_names = imputed
  return r, opts
end

-- the JSON answer of /api/predict
local function result_json(r)
  -- lua-cjson writes an empty table as {}: these two are lists
  return (http.json { model = r.model, cutoffs = r.cutoffs, probability = r.prob, call = r.call, threshold = r.threshold,
                      imputed = r.imputed_names, notes = r.notes }
    :gsub('"imputed":{}', '"imputed":[]'):gsub('"notes":{}', '"notes":[]'))
end

------------------------------------------------------------------------------------------------
-- pages

local CSS = [[
body{font:16px/1.45 system-ui,sans-serif;margin:0;background:#f6f4f1;color:#222}
header{background:#5b2a1d;color:#fff;padding:14px 24px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85;font-size:14px}
main{max-width:980px;margin:0 auto;padding:16px 24px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:14px 18px;margin:14px 0}
h2{font-size:18px;margin:0 0 10px}label{display:block;margin:6px 0 2px;font-weight:600}
.row{display:flex;gap:24px;flex-wrap:wrap}.row>div{flex:1;min-width:200px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e4e4e4;padding:5px 8px;text-align:left}
th{background:#faf7f3}.snps{columns:2;column-gap:28px}.snp{break-inside:avoid;display:flex;justify-content:space-between;gap:8px;padding:2px 0;font-size:14px}
.snp span{flex:1}.risk{color:#a3321b}.prot{color:#1b6aa3}
button{background:#5b2a1d;color:#fff;border:0;border-radius:4px;padding:9px 22px;font-size:16px;cursor:pointer}
.error{background:#fdecea;border-color:#e0a49b;color:#7a1d10}.note{font-size:14px;color:#555}
.disclaimer{font-size:13px;color:#6b4b00;background:#fff8e1;border-color:#f0d78a}
.figs{display:flex;flex-wrap:wrap;gap:10px}.figs figure{margin:0;text-align:center;font-size:13px}
.figs img{width:112px;height:112px;image-rendering:auto;border:1px solid #ccc}
.late{color:#a3321b;font-weight:600}.safe{color:#2d6a2d;font-weight:600}
]]

local function page(title, body)
  return ([[<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title><style>%s</style></head>
<body><header><h1>Late AMD risk calculator</h1>
<p>Probability that late age-related macular degeneration does not occur within 2 to 7 years, from a colour fundus photograph and AMD-associated genotypes (after Yan et al., Nature Machine Intelligence 2020).</p></header>
<main>%s</main></body></html>
]]):format(http.html_escape(title), CSS, body)
end

local function form_html(app, err)
  local out = {}
  if err then out[#out + 1] = ('<section class="error" id="error"><h2>The request could not be used</h2><p>%s</p></section>'):format(http.html_escape(err)) end
  out[#out + 1] = ('<section class="disclaimer">%s</section>'):format(http.html_escape(DISCLAIMER))
  out[#out + 1] = '<form method="post" action="/predict" enctype="multipart/form-data">'
  out[#out + 1] = '<section><h2>Fundus photograph</h2>'
  out[#out + 1] = '<label for="photo">Colour fundus photograph (PNG or JPEG, up to 20 MB)</label>'
  out[#out + 1] = '<input type="file" id="photo" name="photo" accept="image/png,image/jpeg">'
  out[#out + 1] = '</section><section><h2>About the person</h2><div class="row">'
  out[#out + 1] = '<div><label for="age">Age at the photograph (years, optional)</label><input type="number" id="age" name="age" min="40" max="110" step="0.1"></div>'
  out[#out + 1] = '<div><label for="smoking">Smoking (optional)</label><select id="smoking" name="smoking">' ..
    '<option value="unknown">unknown</option><option value="never">never</option><option value="former">former</option><option value="current">current</option></select></div>'
  out[#out + 1] = '</div></section>'
  if #app.variants > 0 then
    out[#out + 1] = '<section><h2>Genotypes (optional)</h2>'
    out[#out + 1] = '<p class="note">For each of the 52 AMD-associated variants, the number of copies of the allele named. Variants left "unknown" are imputed with the training cohort\'s mean, and the result says so.</p>'
    out[#out + 1] = '<label for="raw">Or a PLINK <code>.raw</code> file (plink --recode A) with this person\'s row</label><input type="file" id="raw" name="raw" accept=".raw,text/plain">'
    out[#out + 1] = '<details><summary>Enter the 52 genotypes by hand</summary><div class="snps">'
    for _, v in ipairs(app.variants) do
      local kind = v.risk == true and '<b class="risk">risk</b>' or v.risk == false and '<b class="prot">protective</b>' or ""
      out[#out + 1] = ('<div class="snp"><span><label for="snp_%s" style="display:inline;font-weight:400">%s <small>%s</small> copies of %s %s</label></span>' ..
        '<select id="snp_%s" name="snp_%s"><option value="unknown">unknown</option><option value="0">0</option><option value="1">1</option><option value="2">2</option></select></div>')
        :format(v.id, http.html_escape(v.id), http.html_escape(v.gene), http.html_escape(v.allele), kind, v.id, v.id)
    end
    out[#out + 1] = '</div></details></section>'
  end
  out[#out + 1] = ('<p><button type="submit" id="submit">Estimate the risk</button> <span class="note">model: %s</span></p></form>'):format(http.html_escape(app.model_name))
  return table.concat(out, "\n")
end

-- a small SVG chart of P(no late AMD before k) against k
local function chart(r)
  local W, H, L, B, T, R = 360, 200, 44, 30, 12, 12
  local n = #r.cutoffs
  local function x(i) return L + (W - L - R) * (n == 1 and 0.5 or (i - 1) / (n - 1)) end
  local function y(p) return T + (H - T - B) * (1 - p) end
  local s = { ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="probabilities by year">'):format(W, H, W, H) }
  for _, p in ipairs { 0, 0.25, 0.5, 0.75, 1 } do
    s[#s + 1] = ('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e4e4e4"/><text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#555">%.2f</text>')
      :format(L, W - R, y(p), y(p), L - 6, y(p) + 4, p)
  end
  local pts = {}
  for i = 1, n do
    pts[i] = ("%.1f,%.1f"):format(x(i), y(r.prob[i]))
    s[#s + 1] = ('<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#555">%d y</text>'):format(x(i), H - 10, r.cutoffs[i])
    if r.threshold[i] == r.threshold[i] then
      s[#s + 1] = ('<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#666" stroke-width="2" stroke-dasharray="4,2"/>'):format(x(i) - 8, x(i) + 8, y(r.threshold[i]), y(r.threshold[i]))
    end
  end
  s[#s + 1] = ('<polyline fill="none" stroke="#5b2a1d" stroke-width="2" points="%s"/>'):format(table.concat(pts, " "))
  for i = 1, n do s[#s + 1] = ('<circle cx="%s" r="3.5" fill="#5b2a1d"/>'):format(pts[i]:gsub(",", '" cy="')) end
  s[#s + 1] = "</svg>"
  return table.concat(s)
end

local function result_html(app, r, opts)
  local out = {}
  out[#out + 1] = '<section id="result"><h2>Estimated probability that late AMD does not occur within each horizon</h2>'
  out[#out + 1] = '<div class="row"><div><table id="probabilities"><tr><th>years</th><th>probability</th><th>threshold</th><th>call</th></tr>'
  for k = 1, #r.cutoffs do
    local call = r.call[k]
    local cls = call:find("^at least") and "safe" or call:find("^within") and "late" or ""
    out[#out + 1] = ('<tr><td>%d</td><td class="prob">%.3f</td><td>%s</td><td class="%s">%s</td></tr>'):format(
      r.cutoffs[k], r.prob[k], r.threshold[k] == r.threshold[k] and ("%.3f"):format(r.threshold[k]) or "NA", cls,
      http.html_escape(call))
  end
  out[#out + 1] = '</table><p class="note">The call at each horizon compares the probability with the model\'s Youden threshold for it (dashes in the chart).</p></div>'
  out[#out + 1] = '<div>' .. chart(r) .. '</div></div>'
  out[#out + 1] = '<h2>What was imputed or assumed</h2><ul id="notes">'
  if #r.notes == 0 then out[#out + 1] = '<li>nothing: every input the model uses was given</li>' end
  for _, n in ipairs(r.notes) do out[#out + 1] = '<li>' .. http.html_escape(n) .. '</li>' end
  out[#out + 1] = '</ul></section>'
  if r.image then
    out[#out + 1] = '<section><h2>The photograph and where the model looked</h2><div class="figs">'
    out[#out + 1] = ('<figure><img alt="the photograph" src="%s"><figcaption>model input</figcaption></figure>'):format(png_uri(r.image))
    for k = 1, #r.cutoffs do
      if r.saliency[k] then
        out[#out + 1] = ('<figure><img alt="saliency at %d years" src="%s"><figcaption>saliency, %d years</figcaption></figure>')
          :format(r.cutoffs[k], png_uri(cnn.image.overlay(r.image, r.saliency[k], 0.5)), r.cutoffs[k])
      end
    end
    out[#out + 1] = '</div><p class="note">Saliency: |d output / d pixel|, the largest over the colour channels, scaled to [0, 1] and blended 50% over the photograph.</p></section>'
  end
  out[#out + 1] = ('<section class="disclaimer">%s Model: %s.</section>'):format(http.html_escape(DISCLAIMER), http.html_escape(r.model))
  out[#out + 1] = '<p><a href="/">Another estimate</a></p>'
  return table.concat(out, "\n")
end

------------------------------------------------------------------------------------------------
-- the application

local function load_models(fn, dir)
  local models, names = {}, {}
  local p = io.popen("ls -1 '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null")
  for f in p:lines() do
    local name = f:match("^(.+)%.safetensors$")
    if name then
      local ok, m = pcall(cnn.amd.load_model, dir .. "/" .. f)
      if ok and type(m) == "table" and m.cutoffs then models[name] = m; names[#names + 1] = name end
    end
  end
  p:close()
  if #names == 0 then A.error(("%s: no AMD model files (*.safetensors written by examples/amd/train.lua) in %s"):format(fn, dir)) end
  return models, names
end

-- cnn.amd.calculator{models = DIR [, model = NAME]} -> app: app.handler (for cnn.http.server),
-- app.model (the model it serves), app.model_name, app.models (every model file of DIR)
function M.calculator(opts)
  local fn = "cnn.amd.calculator"
  A.table(fn, 1, "opts", opts)
  A.opts(fn, 1, opts, { "models", "model" })
  A.str(fn, 1, "models", opts.models)
  local models, names = load_models(fn, opts.models)
  local name = opts.model
  if name ~= nil then
    A.str(fn, 1, "model", name)
    if not models[name] then A.error(("%s: no model '%s' in %s (there are: %s)"):format(fn, name, opts.models, table.concat(names, ", "))) end
  else
    for _, n in ipairs(PREFERENCE) do if models[n] and models[n].uses_image then name = n; break end end
    name = name or names[1]
  end
  local app = { models = models, model = models[name], model_name = name }
  app.variants = app.model.uses_geno and variant_rows(app.model) or {}

  local function html(status, body) return http.response(status, page("Late AMD risk calculator", body), "text/html; charset=utf-8") end
  local function guarded(f, on_bad)
    return function(req)
      local ok, a, b, c = pcall(f, req)
      if ok then return a, b, c end
      if type(a) == "table" and a.status then return on_bad(a.status, a.message) end
      error(a, 0)
    end
  end
  app.handler = http.router {
    ["GET /"] = function() return html(200, form_html(app)) end,
    ["GET /healthz"] = function() return http.response(200, "ok\n") end,
    ["POST /predict"] = guarded(function(req)
      local r, o = predict(app, req, true)             -- the page shows saliency; the API does not
      return html(200, result_html(app, r, o))
    end, function(status, msg) return html(status, form_html(app, msg)) end),
    ["POST /api/predict"] = guarded(function(req)
      local r = predict(app, req)
      return http.response(200, result_json(r), "application/json")
    end, function(status, msg) return http.response(status, http.json { error = msg }, "application/json") end),
  }
  return app
end

-- cnn.amd.serve{models = DIR [, model =, host = "127.0.0.1", port = 8080, max_body =, max_connections =,
-- timeout =, request_timeout =, ready = fn(url)]}: starts the calculator and serves until interrupted
function M.serve(opts)
  local fn = "cnn.amd.serve"
  A.table(fn, 1, "opts", opts)
  A.opts(fn, 1, opts, { "models", "model", "host", "port", "max_body", "max_connections", "timeout", "request_timeout", "ready" })
  A.func(fn, 1, "ready", opts.ready, true)
  local app = M.calculator { models = opts.models, model = opts.model }
  local server = http.server { handler = app.handler, host = opts.host, port = opts.port, max_body = opts.max_body,
                               max_connections = opts.max_connections, timeout = opts.timeout,
                               request_timeout = opts.request_timeout }
  local host = opts.host or "127.0.0.1"
  local url = ("http://%s:%d/"):format(host:find(":") and "[" .. host .. "]" or host, server:port())
  if opts.ready then opts.ready(url, app) end
  http.serve(server)
end

M._base64 = base64
M._parse_raw = parse_raw
return M
