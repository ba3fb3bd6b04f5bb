-- The AMD risk calculator (cnn.amd.calculator): the page, the JSON API against cnn.amd.predict on
-- the same input, and every bad input answered 4xx with its message. Tiny untrained models (their
-- numbers mean nothing; only that page, API and library agree), a server on a free loopback port
-- in this process, curl as the client (H.fetch).
local cnn = require "cnn"
local H = require "helpers"
local http = cnn.http
local amd = cnn.amd
local json = require("cjson").new()

local have_curl = os.execute("command -v curl >/dev/null 2>&1")

local dir, photo, photo_jpg, big_jpg, rawfile
local function write(path, s) local f = assert(io.open(path, "wb")); f:write(s); f:close() end

local function setup()
  dir = os.tmpname(); os.remove(dir); os.execute("mkdir -p " .. dir .. "/models")
  local names = {}
  for j, s in ipairs(amd.snps) do names[j] = s.id .. "_" .. s.allele end
  for _, spec in ipairs { { "image+geno", "paper", "image+geno" }, { "image", "paper", "image" } } do
    cnn.manual_seed(7)
    local m = amd.model { design = spec[2], inputs = spec[3], image_size = 16, width = 0.125 }
    m.thresholds = { 0.5, 0.5, 0.45, 0.4, 0.4, 0.35 }
    m.snps, m.name = names, spec[1]
    amd.save_model(m, dir .. "/models/" .. spec[1] .. ".safetensors")
  end
  cnn.manual_seed(8)
  local img = cnn.rand(3, 40, 40)
  photo, photo_jpg = dir .. "/eye.png", dir .. "/eye.jpg"
  cnn.image.save(img, photo)
  cnn.image.save(img, photo_jpg)
  big_jpg = dir .. "/big.jpg"
  cnn.image.save(cnn.image.resize(img, { 2000, 3000 }, { antialias = false }), big_jpg, { quality = 70 })
  -- a PLINK .raw row: rs570618 (CFH) counted on the other allele, the rest as the model counts them
  local head, row = { "FID", "IID", "PAT", "MAT", "SEX", "PHENOTYPE" }, { "F1", "P1", "0", "0", "2", "-9" }
  for j, s in ipairs(amd.snps) do
    if s.id == "rs570618" then head[#head + 1] = s.id .. "_" .. s.other; row[#row + 1] = "0"
    else head[#head + 1] = names[j]; row[#row + 1] = tostring(j % 3) end
  end
  rawfile = dir .. "/person.raw"
  write(rawfile, table.concat(head, " ") .. "\n" .. table.concat(row, " ") .. "\n")
end

local function with_app(opts, f)
  local app = amd.calculator { models = dir .. "/models" }
  local s = http.server { handler = app.handler, port = 0, max_body = opts.max_body }
  local ok, err = pcall(f, s, app)
  s:close()
  if not ok then error(err, 0) end
end

local function api(s, args)
  local code, body = H.fetch(s, "/api/predict", args)
  return code, json.decode(body)
end

describe("the AMD risk calculator", function()
  if not have_curl then
    print("calculator spec skipped: curl is not installed (apt-get install curl)")
    return
  end
  setup()

  it("serves the form: a photograph, age, smoking, a .raw upload and a select per SNP named by rsID", function()
    with_app({}, function(s, app)
      assert.equal("image+geno", app.model_name)
      local code, body = H.fetch(s, "/")
      assert.equal(200, code)
      assert.truthy(body:find('<form method="post" action="/predict" enctype="multipart/form-data">', 1, true))
      assert.truthy(body:find('name="photo"', 1, true))
      assert.truthy(body:find('name="raw"', 1, true))
      local selects = 0
      for _ in body:gmatch('<select id="snp_rs%d+" name="snp_rs%d+">') do selects = selects + 1 end
      assert.equal(52, selects)
      assert.truthy(body:find("rs570618 <small>CFH</small> copies of T", 1, true))
      assert.truthy(body:find("not clinical advice", 1, true))
      assert.falsy(body:find("<script", 1, true))                 -- usable without JavaScript
      assert.falsy(body:find("https?://"))                        -- nothing from the internet
      local hc, hb = H.fetch(s, "/healthz")
      assert.same({ 200, "ok\n" }, { hc, hb })
    end)
  end)

  it("answers /api/predict with the numbers of cnn.amd.predict on the same input", function()
    with_app({}, function(s, app)
      local code, r = api(s, ("-F photo=@%s -F snp_rs570618=2 -F snp_rs10922109=0 -F age=71 -F smoking=former"):format(photo))
      assert.equal(200, code)
      local g = {}
      for j, v in ipairs(amd.snps) do g[j] = v.id == "rs570618" and 2 or v.id == "rs10922109" and 0 or 0 / 0 end
      local img = cnn.image.decode(H.slurp(photo), { channels = 3 })
      local want = amd.predict(app.model, { image = img, genotypes = g, age = 71, smoking = "former", saliency = false })
      assert.same({ 2, 3, 4, 5, 6, 7 }, r.cutoffs)
      for k = 1, 6 do
        -- JSON has 14 significant digits (lua-cjson's most), more than the float32 outputs hold
        assert.is_true(math.abs(want.prob[k] - r.probability[k]) <= 1e-13, ("%.17g vs %.17g"):format(want.prob[k], r.probability[k]))
        assert.equal(want.call[k], r.call[k])
        assert.is_true(math.abs(want.threshold[k] - r.threshold[k]) <= 1e-13)
      end
      assert.equal(50, #r.imputed)                                 -- 52 SNPs, two given
      local first
      for _, v in ipairs(amd.snps) do
        if v.id ~= "rs570618" and v.id ~= "rs10922109" then first = v.id; break end
      end
      assert.equal(first, r.imputed[1])
      assert.equal("image+geno", r.model)
    end)
  end)

  it("reads JPEG, a huge photograph (decoded small), and a PLINK .raw row (alleles matched)", function()
    with_app({}, function(s, app)
      local c1, png = api(s, "-F photo=@" .. photo)
      local c2, jpg = api(s, "-F photo=@" .. photo_jpg)
      assert.equal(200, c1); assert.equal(200, c2)
      assert.is_true(math.abs(png.probability[1] - jpg.probability[1]) < 0.05)
      local t0 = os.clock()
      local c3 = api(s, "-F photo=@" .. big_jpg)
      assert.equal(200, c3)
      local c4, raw = api(s, ("-F photo=@%s -F raw=@%s"):format(photo, rawfile))
      assert.equal(200, c4)
      assert.same({}, raw.imputed)
      -- the same genotypes by hand: rs570618 counted 0 times on its other allele = 2 risk copies
      local args = { "-F photo=@" .. photo }
      for j, v in ipairs(amd.snps) do args[#args + 1] = ("-F snp_%s=%d"):format(v.id, v.id == "rs570618" and 2 or j % 3) end
      local c5, hand = api(s, table.concat(args, " "))
      assert.equal(200, c5)
      assert.same(hand.probability, raw.probability)
      assert.is_true(os.clock() - t0 < 30)
    end)
  end)

  it("shows a result page with the table, the chart, the images and what was imputed", function()
    with_app({}, function(s)
      local code, page = H.fetch(s, "/predict", ("-F photo=@%s -F snp_rs570618=1"):format(photo))
      assert.equal(200, code)
      local _, r = api(s, ("-F photo=@%s -F snp_rs570618=1"):format(photo))
      for k = 1, 6 do
        assert.truthy(page:find(('<td class="prob">%.3f</td>'):format(r.probability[k]), 1, true))
      end
      assert.truthy(page:find("<svg", 1, true))
      local imgs = 0
      for _ in page:gmatch('src="data:image/png;base64,') do imgs = imgs + 1 end
      assert.equal(7, imgs)                                        -- the photograph and six saliency maps
      assert.truthy(page:find("51 of 52 genotypes missing", 1, true))
      assert.truthy(page:find("not clinical advice", 1, true))
    end)
  end)

  it("answers bad input with 4xx and its message, on the page and as JSON", function()
    local trunc = dir .. "/trunc.jpg"
    write(trunc, H.slurp(photo_jpg):sub(1, 400))
    local empty = dir .. "/empty.png"
    write(empty, "")
    local badraw = dir .. "/bad.raw"
    write(badraw, "FID IID PAT MAT SEX PHENOTYPE rs999_A rs570618_T\nF P 0 0 1 -9 1 2\n")
    local badval = dir .. "/badval.raw"
    write(badval, "FID IID PAT MAT SEX PHENOTYPE rs570618_T\nF P 0 0 1 -9 3\n")
    local cases = {
      { "-F photo=@/etc/hostname", "the photograph could not be read: not a PNG or JPEG image" },
      { "-F photo=@" .. trunc, "the photograph could not be read: Premature end of JPEG file" },
      { "-F photo=@" .. empty, "no photograph uploaded" },
      { "-F age=70", "no photograph uploaded" },
      { "-F photo=@" .. photo .. " -F snp_rs570618=7", "genotype rs570618: expected 0, 1, 2 or unknown, got '7'" },
      { "-F photo=@" .. photo .. " -F raw=@" .. badraw, "variants this model does not use: rs999_A" },
      { "-F photo=@" .. photo .. " -F raw=@" .. badval, "gives rs570618_T the value '3'" },
      { "-F photo=@" .. photo .. " -F age=7", "age: expected a number of years in 40..110, got '7'" },
      { "-F photo=@" .. photo .. " -F smoking=sometimes", "smoking: expected never, former, current or unknown" },
    }
    with_app({}, function(s)
      for _, c in ipairs(cases) do
        local code, r = api(s, c[1])
        assert.equal(400, code, c[1])
        assert.truthy(r.error:find(c[2], 1, true), r.error)
        local pcode, page = H.fetch(s, "/predict", c[1])
        assert.equal(400, pcode)
        assert.truthy(page:find('<section class="error" id="error">', 1, true))
        assert.truthy(page:find(http.html_escape(c[2]), 1, true))
      end
      assert.equal(404, (H.fetch(s, "/static/../../etc/passwd", "--path-as-is")))
      assert.equal(405, (H.fetch(s, "/api/predict")))                 -- GET
      assert.equal(405, (H.fetch(s, "/", "-X DELETE")))
    end)
  end)

  it("refuses a PNG decompression bomb (small file, 10,000 x 10,000 pixels) from its header", function()
    -- a real PNG's header says 10,000 x 10,000 (its IHDR checksum no longer matches: the
    -- calculator must refuse it before libpng reads a byte)
    local bomb = dir .. "/bomb.png"
    local png = cnn.image.encode(cnn.zeros(1, 8, 8))
    write(bomb, png:sub(1, 16) .. string.pack(">I4>I4", 10000, 10000) .. png:sub(25))
    with_app({}, function(s)
      local code, r = api(s, "-F photo=@" .. bomb)
      assert.equal(413, code)
      assert.truthy(r.error:find("10000 x 10000 pixels", 1, true))
    end)
  end)

  it("refuses an upload over the limit with 413, before reading it", function()
    with_app({ max_body = 100000 }, function(s)
      assert.equal(413, (H.fetch(s, "/api/predict", "-F photo=@" .. big_jpg)))
      assert.equal(200, (H.fetch(s, "/api/predict", "-F photo=@" .. photo)))
    end)
  end)

  it("checks its options and the models folder", function()
    H.errors(function() amd.calculator { models = "/nonexistent" } end, "cnn.amd.calculator: no AMD model files")
    H.errors(function() amd.calculator { models = dir .. "/models", model = "survival" } end,
      "cnn.amd.calculator: no model 'survival' in")
    H.errors(function() amd.calculator { model = "image" } end, "cnn.amd.calculator: argument 1 (models): expected a string")
    H.errors(function() amd.calculator { models = dir .. "/models", port = 3 } end, "unknown option 'port'")
    assert.equal("image", amd.calculator { models = dir .. "/models", model = "image" }.model_name)
  end)

  it("(cleanup)", function() os.execute("rm -rf " .. dir) end)
end)
