-- The calculator end to end in a real browser: Debian's headless Chromium driven by chromedriver
-- (the W3C WebDriver protocol, spoken with curl). The test starts `bin/cnn serve` on a free
-- loopback port, opens the page, uploads a simulated fundus photograph, chooses genotypes, submits,
-- checks the result page's numbers against the JSON API and takes a screenshot; it stops the
-- server and the driver at the end. Skipped, saying why, where chromium or chromedriver is missing.
local cnn = require "cnn"
local H = require "helpers"
local json = require("cjson").new()
local amd = cnn.amd

local function have(cmd) return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") end
local function sh(cmd)
  local p = assert(io.popen("env -u LD_PRELOAD " .. cmd .. " 2>/dev/null"))
  local out = p:read("a")
  p:close()
  return out
end
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function sleep(s) os.execute("sleep " .. s) end

-- a free loopback port, from a throwaway cnn.http server
local function free_port()
  local s = cnn.http.server { port = 0, handler = function() return 200, {}, "" end }
  local p = s:port()
  s:close()
  return p
end

describe("the calculator in a browser (headless Chromium)", function()
  if not (have("chromium") and have("chromedriver") and have("curl")) then
    print("browser spec skipped: chromium, chromedriver or curl is missing (apt-get install chromium chromium-driver curl)")
    return
  end

  it("uploads a photograph and genotypes through the page and shows the API's numbers", function()
    local dir = os.tmpname(); os.remove(dir); os.execute("mkdir -p " .. dir .. "/models " .. dir .. "/profile")
    local names = {}
    for j, s in ipairs(amd.snps) do names[j] = s.id .. "_" .. s.allele end
    cnn.manual_seed(11)
    local m = amd.model { design = "paper", inputs = "image+geno", image_size = 16, width = 0.125 }
    m.thresholds, m.snps, m.name = { 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 }, names, "image+geno"
    amd.save_model(m, dir .. "/models/image+geno.safetensors")
    local models = os.getenv("CNN_CALCULATOR_MODELS") or (dir .. "/models")   -- the docs' picture: the demo's
    -- a simulated fundus photograph: one subject of the simulator
    amd.simulate { subjects = 1, seed = 3, out = dir .. "/cohort", image_size = 96 }
    local photo = sh("ls " .. dir .. "/cohort/images/*/* | tail -n 1"):match("[^\n]+")
    assert.truthy(photo)

    local port, dport = free_port(), free_port()
    local root = debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$") or "."
    -- the server keeps make test-asan's preload (the core is then the ASan build); chromedriver,
    -- Chromium and curl run without it (curl and Chromium hang in p11-kit under it)
    os.execute(("%s/bin/cnn serve --models %s --port %d --threads 1 > %s/serve.log 2>&1 & echo $! > %s/serve.pid")
      :format(root, q(models), port, dir, dir))
    os.execute(("env -u LD_PRELOAD chromedriver --port=%d > %s/driver.log 2>&1 & echo $! > %s/driver.pid"):format(dport, dir, dir))
    local session
    local function wd(method, path, body)
      local cmd = ("curl -s -m 60 -X %s -H 'Content-Type: application/json' %s http://127.0.0.1:%d%s")
        :format(method, body and ("--data-binary " .. q(json.encode(body))) or "", dport, path)
      local out = sh(cmd)
      local ok, r = pcall(json.decode, out)
      assert(ok and type(r) == "table", "chromedriver answered: " .. out:sub(1, 300))
      if type(r.value) == "table" and r.value.error then error("webdriver " .. path .. ": " .. tostring(r.value.message), 0) end
      return r.value
    end
    local function find(css)
      local v = wd("POST", "/session/" .. session .. "/element", { using = "css selector", value = css })
      return v["element-6066-11e4-a52e-4f735466cecf"]
    end
    local ok, err = pcall(function()
      for _ = 1, 300 do                                          -- both up within 60 s (ASan is slow)
        if H.slurp(dir .. "/serve.log"):find("http://", 1, true) and sh(("curl -s http://127.0.0.1:%d/status"):format(dport)):find("ready") then break end
        sleep(0.2)
      end
      assert(H.slurp(dir .. "/serve.log"):find("http://", 1, true), "the server did not start: " .. H.slurp(dir .. "/serve.log"))
      session = wd("POST", "/session", { capabilities = { alwaysMatch = { ["goog:chromeOptions"] = {
        binary = "/usr/bin/chromium",
        args = { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-dev-shm-usage", "--window-size=1100,1500", "--user-data-dir=" .. dir .. "/profile" } } } } }).sessionId
      wd("POST", "/session/" .. session .. "/url", { url = ("http://127.0.0.1:%d/"):format(port) })
      assert.truthy(wd("GET", "/session/" .. session .. "/title"):find("risk calculator", 1, true))
      wd("POST", "/session/" .. session .. "/element/" .. find("#photo") .. "/value", { text = photo })
      wd("POST", "/session/" .. session .. "/element/" .. find("#age") .. "/value", { text = "72" })
      wd("POST", "/session/" .. session .. "/element/" .. find("details summary") .. "/click", {})
      wd("POST", "/session/" .. session .. "/element/" .. find("#snp_rs570618 option[value='2']") .. "/click", {})
      wd("POST", "/session/" .. session .. "/element/" .. find("#snp_rs3750846 option[value='1']") .. "/click", {})
      wd("POST", "/session/" .. session .. "/element/" .. find("#submit") .. "/click", {})
      local cells = wd("POST", "/session/" .. session .. "/elements", { using = "css selector", value = "td.prob" })
      assert.equal(6, #cells)
      local shown = {}
      for k, c in ipairs(cells) do
        shown[k] = tonumber(wd("GET", "/session/" .. session .. "/element/" .. c["element-6066-11e4-a52e-4f735466cecf"] .. "/text"))
      end
      -- the same request to the JSON API
      local r = json.decode(sh(("curl -s -F photo=@%s -F age=72 -F snp_rs570618=2 -F snp_rs3750846=1 http://127.0.0.1:%d/api/predict")
        :format(q(photo), port)))
      for k = 1, 6 do assert.equal(tonumber(("%.3f"):format(r.probability[k])), shown[k]) end
      assert.equal(50, #r.imputed)
      local shot = wd("GET", "/session/" .. session .. "/screenshot")
      local f = assert(io.open(dir .. "/shot.b64", "wb")); f:write(shot); f:close()
      os.execute(("base64 -d %s/shot.b64 > %s/result.png"):format(dir, dir))
      local png = H.slurp(dir .. "/result.png")
      assert.equal("\137PNG", png:sub(1, 4))
      local img = cnn.image.load(dir .. "/result.png")
      assert.is_true(img:size(2) > 800 and img:size(3) > 800)
      assert.is_true(img:std():item() > 0.05)                    -- a page, not a blank screen
      if os.getenv("CNN_SCREENSHOT") then os.execute(("cp %s/result.png %s"):format(dir, q(os.getenv("CNN_SCREENSHOT")))) end
    end)
    if session then pcall(wd, "DELETE", "/session/" .. session) end
    os.execute(("kill $(cat %s/serve.pid) $(cat %s/driver.pid) 2>/dev/null"):format(dir, dir))
    os.execute("rm -rf " .. dir)
    if not ok then error(err, 0) end
  end)
end)
