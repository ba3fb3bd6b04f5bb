-- bench/gp_stream.lua: marker preselection streamed through a small biobank panel, 10,000
-- individuals x 500,000 markers (a 1.25 GB .bed; 20 GB as float32), with the peak RSS. Opt-in
-- (GP_STREAM=1; `make bench` skips it otherwise): the file is built in /tmp from a simulated
-- 10,000 x 5,000 cohort whose variant blocks are repeated 100 times (simulating 5e9 genotypes
-- directly takes too long for a benchmark; the scan does not care whether variants repeat), with
-- the cohort's phenotype. GP_N, GP_P and GP_BASE change the sizes.
local cnn = require "cnn"
local B = require "lib"
local G = cnn.genomics

if os.getenv("GP_STREAM") ~= "1" then
  io.stderr:write("bench/gp_stream.lua: skipped (GP_STREAM=1 runs it; it writes a 1.25 GB file to /tmp)\n")
  return
end
local N = tonumber(os.getenv("GP_N") or "") or 10000
local P = tonumber(os.getenv("GP_P") or "") or 500000
local base = tonumber(os.getenv("GP_BASE") or "") or 5000
local prefix = ("/tmp/cnn_bench_gp_stream_%dx%d"):format(N, P)
local tag = ("%dx%d"):format(N, P)

local function peak_mb() return B.status_mb("VmHWM") end

local f = io.open(prefix .. ".bed", "rb")
if f then f:close() else
  local t0 = B.now()
  local g = G.simulate_genotypes { n = N, p = base, qtl = 200, h2 = 0.5, seed = 1, out = prefix .. "_base" }
  local out = assert(io.open(prefix .. ".bed.tmp", "wb"))
  out:write("\x6c\x1b\x01")
  for _ = 1, P // base do out:write(g.bytes) end
  out:close()
  local bim = {}
  for j = 1, P do bim[j] = ("1\tsnp%d\t0\t%d\tA\tG"):format(j, j) end
  local fb = assert(io.open(prefix .. ".bim", "w")); fb:write(table.concat(bim, "\n"), "\n"); fb:close()
  bim = nil
  os.execute(("cp %s_base.fam %s.fam && cp %s_base.pheno %s.pheno"):format(prefix, prefix, prefix, prefix))
  os.rename(prefix .. ".bed.tmp", prefix .. ".bed")
  io.stderr:write(("built %s.bed in %.0f s\n"):format(prefix, B.now() - t0))
  g = nil
  collectgarbage(); collectgarbage()
end

local rss0 = peak_mb()
local t0 = B.now()
local g = G.open_bed(prefix, { stream = true })
local y = G.read_pheno(prefix .. ".pheno", g).values
local t_open = B.now() - t0
t0 = B.now()
local train = cnn.arange(1, math.floor(N * 0.8) + 1):long()
local sel = G.preselect(g, y, { rows = train, k = 1000 })
local t_scan = B.now() - t0
t0 = B.now()
local gs = g:subset(sel)
local t_sub = B.now() - t0
B.result("gp", "preselect streamed, 80% training " .. tag, t_scan, nil,
  ("open %.1f s (names), subset of 1000 markers %.2f s (%d KB); peak RSS %.0f MB (%.0f MB before)")
    :format(t_open, t_sub, #gs.bytes // 1024, peak_mb(), rss0))
