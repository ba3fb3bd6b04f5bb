-- bench/calculator.lua: a load check of the AMD risk calculator. `bin/cnn serve` on a free
-- loopback port with a model of the demo's size (small trunk, 64x64, untrained: speed does not
-- depend on the weights), 8 concurrent clients (curl loops) posting a simulated photograph and two
-- genotypes to /api/predict for 20 seconds: requests per second, p50/p95 latency, errors (any
-- answer but 200), the server's peak RSS. CNN_LOAD_SECONDS changes the duration.
package.path = "bench/?.lua;" .. package.path
local cnn = require "cnn"
local B = require "lib"
local amd = cnn.amd

local SECONDS = tonumber(os.getenv("CNN_LOAD_SECONDS") or "") or 20
local CLIENTS = 8
local dir = os.tmpname(); os.remove(dir); os.execute("mkdir -p " .. dir .. "/models")
local names = {}
for j, s in ipairs(amd.snps) do names[j] = s.id .. "_" .. s.allele end
cnn.manual_seed(1)
local m = amd.model { design = "paper", inputs = "image+geno", image_size = 64, width = 0.5 }
m.thresholds, m.snps, m.name = { 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 }, names, "image+geno"
amd.save_model(m, dir .. "/models/image+geno.safetensors")
local photo = dir .. "/eye.png"
cnn.image.save(cnn.image.resize(cnn.rand(3, 64, 64), 512), photo)

local s = cnn.http.server { port = 0, handler = function() return 200, {}, "" end }
local port = s:port()
s:close()
os.execute(("bin/cnn serve --models %s/models --port %d --threads %d > %s/serve.log 2>&1 & echo $! > %s/pid")
  :format(dir, port, B.threads, dir, dir))
local pid = io.open(dir .. "/pid"):read("l")
for _ = 1, 100 do
  local f = io.open(dir .. "/serve.log")
  if f and f:read("a"):find("http://", 1, true) then f:close() break end
  if f then f:close() end
  B.sleep(0.2)
end
local url = ("http://127.0.0.1:%d/api/predict"):format(port)
local loop = ("end=$(( $(date +%%s) + %d )); while [ $(date +%%s) -lt $end ]; do curl -s -o /dev/null -w '%%{http_code} %%{time_total}\\n' " ..
              "-F photo=@%s -F snp_rs570618=2 -F snp_rs3750846=1 %s; done"):format(SECONDS, photo, url)
local cmd = {}
for i = 1, CLIENTS do cmd[i] = ("(%s) > %s/client%d.txt &"):format(loop, dir, i) end
local t0 = B.now()
os.execute(table.concat(cmd, " ") .. " wait")
local wall = B.now() - t0
local rss = 0
local st = io.open("/proc/" .. pid .. "/status")
if st then
  for line in st:lines() do
    local kb = line:match("^VmHWM:%s+(%d+)")
    if kb then rss = tonumber(kb) / 1024 end
  end
  st:close()
end
os.execute("kill " .. pid)
local times, errors = {}, 0
for i = 1, CLIENTS do
  for line in io.lines(("%s/client%d.txt"):format(dir, i)) do
    local code, t = line:match("^(%d+) ([%d.]+)")
    if code ~= "200" then errors = errors + 1 else times[#times + 1] = tonumber(t) end
  end
end
os.execute("rm -rf " .. dir)
table.sort(times)
local function pct(p) return times[math.max(1, math.ceil(p * #times))] or 0 / 0 end
B.result("calculator", ("POST /api/predict, %d clients, %d s"):format(CLIENTS, SECONDS), pct(0.5), nil,
  ("%.1f requests/s; p50 %.0f ms, p95 %.0f ms; %d errors; server peak RSS %.0f MB")
    :format(#times / wall, pct(0.5) * 1000, pct(0.95) * 1000, errors, rss))
