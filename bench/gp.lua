-- bench/gp.lua: genomic prediction at the scale of issue 22 (2,000 individuals x 50,000 markers,
-- simulated once into /tmp/cnn_bench_gp.* and reused): reading the .bed (as 2-bit codes, and
-- decoded to float32), GBLUP (GRM + eigendecomposition + REML), ridge at a fixed lambda (the case
-- bench/gp_torch.py times with scikit-learn's Ridge on the same matrix), and one epoch of the
-- guide's MLP on all 50,000 markers, all on the 2-bit codes; then the float32 read. Each case
-- once (they take seconds), with the process's peak RSS after it (VmHWM: cumulative, in this order).
local cnn = require "cnn"
local B = require "lib"
local G = cnn.genomics
local geno = require "cnn.data.genotype"

local N, P = tonumber(os.getenv("GP_N") or "") or 2000, tonumber(os.getenv("GP_P") or "") or 50000
local prefix = ("/tmp/cnn_bench_gp_%dx%d"):format(N, P)
local tag = ("%dx%d"):format(N, P)

local function peak_mb() return B.status_mb("VmHWM") end

local f = io.open(prefix .. ".bed", "rb")
if f then f:close() else
  G.simulate_genotypes { n = N, p = P, qtl = 500, h2 = 0.5, seed = 1, out = prefix }
end
collectgarbage()

local t0 = B.now()
local g = G.open_bed(prefix)
local y = G.read_pheno(prefix .. ".pheno", g).values
B.result("gp", "read .bed as 2-bit codes " .. tag, B.now() - t0, nil, ("%.0f MB of codes; peak RSS %.0f MB"):format(#g.bytes / 2 ^ 20, peak_mb()))


t0 = B.now()
local K = G.grm(g)
local t_grm = B.now() - t0
local t1 = B.now()
cnn.linalg.eigh(K)
local t_eig = B.now() - t1
K = nil
collectgarbage()
t0 = B.now()
local m = G.gblup { X = g, y = y }
local t_gblup = B.now() - t0
B.result("gp", "GBLUP (GRM + eigh + REML + marker effects) " .. tag, t_gblup, 2.0 * N * N * P,
  ("GRM %.1f s, eigh %.1f s; h2 %.3f; peak RSS %.0f MB"):format(t_grm, t_eig, m.h2, peak_mb()))
local lambda = 1000
t0 = B.now()
G.ridge { X = g, y = y, lambda = lambda }
B.result("gp", ("ridge lambda=%d %s"):format(lambda, tag), B.now() - t0, 2.0 * N * N * P, ("peak RSS %.0f MB"):format(peak_mb()))

cnn.manual_seed(1)
t0 = B.now()
G.fit_network(G.mlp(P), g, y, { epochs = 1, valid = 0, progress = false, batch_size = 32 })
B.result("gp", "MLP epoch (batch 32, Adam) " .. tag, B.now() - t0, nil, ("peak RSS %.0f MB"):format(peak_mb()))

-- last: the float32 matrix (400 MB at the default size) would dominate the peak RSS of the rest
collectgarbage(); collectgarbage()
t0 = B.now()
local dosage = geno.read_bed(prefix).dosage
B.result("gp", "read .bed as float32 " .. tag, B.now() - t0, nil, ("cnn.data.genotype.read_bed, %d x %d; peak RSS %.0f MB"):format(dosage:size(1), dosage:size(2), peak_mb()))
