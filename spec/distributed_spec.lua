-- cnn.distributed on Open MPI: each test writes a small script to a temporary directory and runs
-- it under mpirun on loopback (2 or 3 ranks, --oversubscribe on this 2-core machine, and the
-- flags that let root run it), with a timeout; the ranks print "key values" lines that the test
-- compares with values computed by hand. Skipped, with the reason printed, when mpirun or the
-- binding (lua/cnn/_mpi.so, built only when Open MPI is installed) is missing, and under the
-- sanitizer preload (mpirun's helpers are not instrumented).
local cnn = require "cnn"

local root = assert(io.popen("pwd")):read("l")
local have_mpirun = os.execute("command -v mpirun >/dev/null 2>&1")
local have_binding = pcall(require, "cnn._mpi")
local reason = (os.getenv("LD_PRELOAD") or ""):find("asan") and "under the sanitizer preload"
  or not have_mpirun and "mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev, then make)"
  or not have_binding and "lua/cnn/_mpi.so is not built (install libopenmpi-dev, then make)"
  or nil

local tmp = os.tmpname()
os.remove(tmp)
os.execute("mkdir -p " .. tmp)

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

local PRELUDE = [[
local cnn = require "cnn"
local dist = require "cnn.distributed"
local function out(key, t)
  local v = {}
  if cnn.is_tensor(t) then t = t:contiguous():reshape(-1):totable() end
  for i, x in ipairs(t) do v[i] = string.format("%.17g", x) end
  io.write(key, " ", table.concat(v, ","), "\n")
  io.flush()
end
]]

-- runs body (after PRELUDE) on np ranks; returns the exit status (true on success), stdout, stderr, seconds
local function mpirun(np, body, timeout)
  local script = tmp .. "/s" .. np .. "_" .. math.random(1 << 30) .. ".lua"
  write(script, PRELUDE .. body)
  local t0 = os.time()
  local ok, _, code = os.execute(("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader,tcp "
    .. "timeout %d mpirun --oversubscribe --bind-to none -np %d '%s/bin/cnn' '%s' > '%s.out' 2> '%s.err'")
    :format(timeout or 30, np, root, script, script, script))
  return ok, slurp(script .. ".out"), slurp(script .. ".err"), os.time() - t0, code
end

-- the "key values" lines of stdout: { key = {numbers} } (keys are rank-qualified by the scripts)
local function parse(text)
  local r = {}
  for key, vals in text:gmatch("(%S+) ([^\n]*)\n") do
    local v = {}
    for x in vals:gmatch("[^,]+") do v[#v + 1] = tonumber(x) end
    r[key] = v
  end
  return r
end

local function same(expected, got, tol, what)
  assert(got, what .. ": missing")
  assert.are.equal(#expected, #got, what)
  for i = 1, #expected do
    assert(math.abs(expected[i] - got[i]) <= (tol or 0), ("%s[%d]: expected %.9g, got %.9g"):format(what, i, expected[i], got[i]))
  end
end

local COLLECTIVES = [[
assert(not dist.is_initialized() and dist.is_main())
local okr, er = pcall(dist.all_reduce, cnn.ones(2))
assert(not okr and er:find("cnn.distributed.all_reduce: MPI is not initialized", 1, true), er)
local r, n = dist.init()
assert(select(1, dist.init()) == r)   -- a second init does nothing
local okd, ed = pcall(dist.DataParallel, {}, nil)
assert(not okd and ed:find("cnn.distributed.DataParallel: argument 1 (model): expected a module", 1, true), ed)
local okb, eb = pcall(dist.DataParallel, cnn.nn.Linear(2, 2), { bucket = 1 })
assert(not okb and eb:find("unknown option", 1, true), eb)
out("r" .. r .. ".id", { dist.rank(), dist.size(), dist.is_initialized() and 1 or 0, dist.is_main() and 1 or 0 })
for _, dt in ipairs({ "float32", "float64" }) do
  for _, op in ipairs({ "sum", "mean", "max", "min" }) do
    local t = cnn.tensor({ r, -r, r * r, 0.5 }, dt)
    assert(dist.all_reduce(t, op) == t)
    out("r" .. r .. "." .. dt .. "." .. op, t)
  end
  local b = cnn.tensor({ { r, 2 * r }, { 3 * r, 4 * r } }, dt)
  dist.broadcast(b, 2)
  out("r" .. r .. "." .. dt .. ".bcast2", b)
  local b1 = cnn.tensor({ r * 7 }, dt)
  dist.broadcast(b1)
  out("r" .. r .. "." .. dt .. ".bcast1", b1)
  local g = dist.all_gather(cnn.tensor({ { r, 10 * r } }, dt))
  out("r" .. r .. "." .. dt .. ".gather", g)
  out("r" .. r .. "." .. dt .. ".gather_shape", g:size())
  assert(g:dtype() == dt)
end
out("r" .. r .. ".sum_default", dist.all_reduce(cnn.ones(3)))
-- refused: non-contiguous, int64, an unknown op, a root out of range
local ok1, e1 = pcall(dist.all_reduce, cnn.zeros(3, 4):t(), "sum")
local ok2, e2 = pcall(dist.all_reduce, cnn.zeros({ 3 }, "int64"), "sum")
local ok3, e3 = pcall(dist.all_reduce, cnn.zeros(3), "prod")
local ok4, e4 = pcall(dist.broadcast, cnn.zeros(3), n + 1)
assert(not ok1 and e1:find("contiguous", 1, true), e1)
assert(not ok2 and e2:find("float32 or float64", 1, true), e2)
assert(not ok3 and e3:find("argument 2 (op)", 1, true), e3)
assert(not ok4 and e4:find("argument 2 (root)", 1, true), e4)
-- backward's errors, through DataParallel's hook, keep the user's line
local dpp = dist.DataParallel(cnn.nn.Linear(2, 2))
local yy = dpp(cnn.randn(3, 2))
local okp, ep = pcall(function() yy:backward() end)
assert(not okp and ep:find("^[^\n]*%.lua:%d+: cnn%.backward:") and not ep:find("distributed.lua", 1, true), ep)
dist.barrier()
out("r" .. r .. ".done", { 1 })
]]

local function check_collectives(n)
  local ok, so, se = mpirun(n, COLLECTIVES)
  assert(ok, "mpirun failed:\n" .. so .. se)
  local res = parse(so)
  local s1, s2 = 0, 0
  for r = 1, n do s1, s2 = s1 + r, s2 + r * r end
  for r = 1, n do
    local k = "r" .. r .. "."
    same({ r, n, 1, r == 1 and 1 or 0 }, res[k .. "id"], 0, k .. "id")
    for _, dt in ipairs({ "float32", "float64" }) do
      local tol = dt == "float32" and 1e-6 or 1e-15
      same({ s1, -s1, s2, 0.5 * n }, res[k .. dt .. ".sum"], tol, k .. dt .. ".sum")
      same({ s1 / n, -s1 / n, s2 / n, 0.5 }, res[k .. dt .. ".mean"], tol, k .. dt .. ".mean")
      same({ n, -1, n * n, 0.5 }, res[k .. dt .. ".max"], 0, k .. dt .. ".max")
      same({ 1, -n, 1, 0.5 }, res[k .. dt .. ".min"], 0, k .. dt .. ".min")
      same({ 2, 4, 6, 8 }, res[k .. dt .. ".bcast2"], 0, k .. dt .. ".bcast2")
      same({ 7 }, res[k .. dt .. ".bcast1"], 0, k .. dt .. ".bcast1")
      local g = {}
      for q = 1, n do g[#g + 1] = q; g[#g + 1] = 10 * q end
      same(g, res[k .. dt .. ".gather"], 0, k .. dt .. ".gather")
      same({ n, 1, 2 }, res[k .. dt .. ".gather_shape"], 0, k .. dt .. ".gather_shape")
    end
    same({ n, n, n }, res[k .. "sum_default"], 0, k .. "sum_default")
    same({ 1 }, res[k .. "done"], 0, k .. "done")
  end
end

-- a model and data that are the same on every rank from fixed seeds; each rank starts from other
-- parameters (seeded by its rank), so DataParallel's broadcast is what makes them agree
local TRAIN = [[
local nn = cnn.nn
local r, n = dist.init()
local B, STEPS = 4, 5
local function make_model()
  return nn.Sequential({ nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5), nn.Tanh(), nn.Linear(5, 3) })
end
cnn.manual_seed(100)
local X = cnn.randn(B * n, 1, 6, 6)
local Y = cnn.randint(1, 4, { B * n }):long()
cnn.manual_seed(1)
local ref = make_model()             -- rank 1's initial model, on every rank
cnn.manual_seed(r)
local model = make_model()
local dp = dist.DataParallel(model, { bucket_mb = BUCKET, auto = AUTO })
local opt = cnn.optim.SGD(dp:parameters(), { lr = 0.1, momentum = 0.9 })
local ropt = cnn.optim.SGD(ref:parameters(), { lr = 0.1, momentum = 0.9 })
local lx, ly = X:narrow(1, (r - 1) * B + 1, B), Y:narrow(1, (r - 1) * B + 1, B)
for s = 1, STEPS do
  opt:zero_grad()
  if AUTO then
    cnn.F.cross_entropy(dp(lx), ly):backward()
  else                               -- gradient accumulation: two half batches, then one sync
    for h = 0, 1 do
      local loss = cnn.F.cross_entropy(dp(lx:narrow(1, h * B / 2 + 1, B / 2)), ly:narrow(1, h * B / 2 + 1, B / 2))
      ;(loss / 2):backward()
    end
    dp:sync_gradients()
  end
  opt:step()
  ropt:zero_grad()                   -- one process, the whole batch of n * B
  cnn.F.cross_entropy(ref(X), Y):backward()
  ropt:step()
end
local flat, rflat = {}, {}
for i, p in ipairs(model:parameters()) do flat[i] = p:detach():reshape(-1) end
for i, p in ipairs(ref:parameters()) do rflat[i] = p:detach():reshape(-1) end
flat, rflat = cnn.cat(flat), cnn.cat(rflat)
local all = dist.all_gather(flat)
local bitdiff = 0
for q = 2, n do bitdiff = math.max(bitdiff, (all:select(1, q) - all:select(1, 1)):abs():max():item()) end
out("r" .. r .. ".bitdiff", { bitdiff })
out("r" .. r .. ".refdiff", { (flat - rflat):abs():max():item() })
out("r" .. r .. ".moved", { (flat - rflat):abs():max():item() < 1 and 1 or 0 })
out("r" .. r .. ".counts", { dp.syncs, dp.all_reduces, #model:parameters() })
]]

local function train(n, bucket, auto)
  local body = TRAIN:gsub("BUCKET", tostring(bucket)):gsub("AUTO", tostring(auto))
  local ok, so, se = mpirun(n, body)
  assert(ok, "mpirun failed:\n" .. so .. se)
  return parse(so)
end

-- batch norm: per-rank running statistics, or rank 1's at each training forward (broadcast_buffers)
local BN = [[
local nn = cnn.nn
local r, n = dist.init()
cnn.manual_seed(r)
local model = nn.Sequential({ nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2) })
local dp = dist.DataParallel(model, { broadcast_buffers = BB })
local opt = cnn.optim.SGD(model, { lr = 0.1 })
for s = 1, 3 do                      -- each rank its own data
  opt:zero_grad()
  cnn.F.cross_entropy(dp(cnn.randn(6, 3)), cnn.tensor({ 1, 2, 1, 2, 1, 2 }, "int64")):backward()
  opt:step()
end
cnn.manual_seed(99)
dp(cnn.randn(6, 3))                  -- the same batch on every rank
local bn = model[2]
local g = dist.all_gather(bn.running_mean)
out("r" .. r .. ".bn", { (g:select(1, 2) - g:select(1, 1)):abs():max():item() })
]]

local FAULT = [[
local r, n = dist.init()
if r == 2 then error("deliberate failure on rank two") end
dist.all_reduce(cnn.ones(3))         -- the other ranks would wait here forever without the abort
dist.barrier()
print("not reached")
]]

describe("cnn.distributed", function()
  if reason then
    print("cnn.distributed spec skipped: " .. reason)
    pending("cnn.distributed: " .. reason)
    return
  end

  it("computes every collective's values on 2 ranks", function() check_collectives(2) end)
  it("computes every collective's values on 3 ranks", function() check_collectives(3) end)

  it("DataParallel: 2 ranks with batch B give 1 process's parameters with batch 2B, bit-identical on all ranks", function()
    local res = train(2, 25, true)
    for r = 1, 2 do
      same({ 0 }, res["r" .. r .. ".bitdiff"], 0, "rank " .. r .. " parameters vs rank 1's")
      same({ 0 }, res["r" .. r .. ".refdiff"], 2e-5, "rank " .. r .. " vs one process")
      -- 5 steps, one sync each, one bucket (25 MB hold the whole model) per sync
      same({ 5, 5, 6 }, res["r" .. r .. ".counts"], 0, "rank " .. r .. " syncs, all-reduces, parameters")
    end
  end)

  it("DataParallel on 3 ranks with small buckets, and manual sync after gradient accumulation", function()
    -- 1e-4 MB = 104 bytes = 26 floats: the 6 gradients (27, 3, 240, 5, 15, 3 floats) go in
    -- buckets {3, 15, 5: 23}, {240 alone}, {3}, {27 alone}: 4 all-reduces per sync
    local res = train(3, 1e-4, true)
    for r = 1, 3 do
      same({ 0 }, res["r" .. r .. ".bitdiff"], 0, "rank " .. r .. " parameters vs rank 1's")
      same({ 0 }, res["r" .. r .. ".refdiff"], 2e-5, "rank " .. r .. " vs one process")
      same({ 5, 20, 6 }, res["r" .. r .. ".counts"], 0, "rank " .. r .. " syncs, all-reduces, parameters")
    end
    res = train(2, 25, false)
    for r = 1, 2 do
      same({ 0 }, res["r" .. r .. ".bitdiff"], 0, "manual: rank " .. r .. " parameters vs rank 1's")
      same({ 0 }, res["r" .. r .. ".refdiff"], 2e-5, "manual: rank " .. r .. " vs one process")
      same({ 5, 5, 6 }, res["r" .. r .. ".counts"], 0, "manual: syncs, all-reduces, parameters")
    end
  end)

  it("DataParallel: batch-norm statistics per rank, or rank 1's with broadcast_buffers", function()
    for _, bb in ipairs({ false, true }) do
      local ok, so, se = mpirun(2, (BN:gsub("BB", tostring(bb))))
      assert(ok, "mpirun failed:\n" .. so .. se)
      local d = parse(so)["r1.bn"]
      assert(d, so)
      if bb then assert.are.equal(0, d[1]) else assert(d[1] > 1e-3, "per-rank statistics should differ") end
    end
  end)

  it("finalize ends MPI for good, and the job exits 0", function()
    local ok, so, se = mpirun(2, [[
local r = dist.init()
dist.all_reduce(cnn.ones(2))
dist.finalize()
dist.finalize()                      -- a second call does nothing
local ok1, e1 = pcall(dist.rank)
local ok2, e2 = pcall(dist.init)
assert(not dist.is_initialized() and not ok1 and not ok2)
assert(e1:find("MPI is not initialized", 1, true) and e2:find("MPI was finalized", 1, true))
out("r" .. r .. ".fin", { 1 })
]])
    assert(ok, "mpirun failed:\n" .. so .. se)
    local res = parse(so)
    same({ 1 }, res["r1.fin"], 0, "rank 1")
    same({ 1 }, res["r2.fin"], 0, "rank 2")
  end)

  it("ends the whole job with the failing rank's message and a non-zero exit, never hangs", function()
    local ok, so, se, secs, code = mpirun(2, FAULT, 20)
    assert.is_falsy(ok)
    assert.are_not.equal(124, code)   -- timeout's status: the job hung
    assert.is_truthy(se:find("deliberate failure on rank two", 1, true), se)
    -- (mpirun's own "MPI_ABORT was invoked" notice is sometimes lost as it kills the ranks)
    assert.is_falsy(so:find("not reached", 1, true))
    assert(secs < 15, "took " .. secs .. " s (the timeout is 20 s)")
  end)
end)

describe("examples/amd/train.lua --distributed", function()
  if reason then
    pending("cnn.distributed: " .. reason)
    return
  end
  it("trains the trunk on 2 ranks; rank 1 alone writes a model that loads and predicts", function()
    local cnn = require "cnn"
    local dir = tmp .. "/amd"
    cnn.amd.simulate { subjects = 24, seed = 5, out = dir .. "/cohort", image_size = 32, progress = false }
    local ok = os.execute(("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader,tcp "
      .. "timeout 120 mpirun --oversubscribe --bind-to none -np 2 '%s/bin/cnn' '%s/examples/amd/train.lua' "
      .. "--data '%s/cohort' --out '%s/models' --epochs 1 --batch-size 8 --image-size 32 --width 0.25 --threads 1 "
      .. "--head-steps 20 --distributed > '%s/train.out' 2>&1"):format(root, root, dir, dir, dir))
    local out = slurp(dir .. "/train.out")
    assert(ok, out)
    local _, n = out:gsub("trunk: 1 epochs in", "")
    assert.are.equal(1, n)                                          -- rank 1 alone prints
    local m = cnn.amd.load_model(dir .. "/models/image.safetensors")
    assert.are.same({ 2, 3, 4, 5, 6, 7 }, m.cutoffs)
    local p = cnn.no_grad(function() return m(cnn.rand(2, 3, 32, 32)) end)
    assert.are.same({ 2, 6 }, p:size())
  end)
end)

describe("cnn.distributed without the binding", function()
  it("says how to install Open MPI", function()
    local saved_loaded, saved_pre = package.loaded["cnn.distributed"], package.preload["cnn._mpi"]
    local saved_mpi = package.loaded["cnn._mpi"]
    package.loaded["cnn.distributed"], package.loaded["cnn._mpi"] = nil, nil
    package.preload["cnn._mpi"] = function() error("module 'cnn._mpi' not found") end
    local ok, err = pcall(require, "cnn.distributed")
    package.loaded["cnn.distributed"], package.preload["cnn._mpi"] = saved_loaded, saved_pre
    package.loaded["cnn._mpi"] = saved_mpi
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("apt-get install libopenmpi-dev openmpi-bin", 1, true), err)
  end)
end)

describe("cnn.data.DistributedSampler", function()
  local function shards(n, R, opts)
    local out = {}
    for r = 1, R do
      local o = { num_replicas = R, rank = r }
      for k, v in pairs(opts or {}) do o[k] = v end
      local s = cnn.data.DistributedSampler(n, o)
      out[r] = s:indices():totable()
      assert.are.equal(#out[r], s:len())
    end
    return out
  end

  it("cuts 1..n without shuffling as PyTorch does (padding with the first indices)", function()
    -- torch.utils.data.DistributedSampler(range(10), 3, r, shuffle=False): [0,3,6,9], [1,4,7,0], [2,5,8,1]
    local s = shards(10, 3, { shuffle = false })
    assert.are.same({ 1, 4, 7, 10 }, s[1])
    assert.are.same({ 2, 5, 8, 1 }, s[2])
    assert.are.same({ 3, 6, 9, 2 }, s[3])
    -- drop_last: 10 // 3 = 3 each, the 10th dropped
    s = shards(10, 3, { shuffle = false, drop_last = true })
    assert.are.same({ { 1, 4, 7 }, { 2, 5, 8 }, { 3, 6, 9 } }, s)
    -- fewer items than ranks: padding repeats the order as often as needed
    s = shards(2, 5, { shuffle = false })
    assert.are.same({ { 1 }, { 2 }, { 1 }, { 2 }, { 1 } }, s)
  end)

  it("gives disjoint, equal and complete shards of each epoch's shuffled order, the same for a seed and epoch", function()
    for _, case in ipairs({ { 12, 3 }, { 13, 4 }, { 100, 7 } }) do
      local n, R = case[1], case[2]
      local s = shards(n, R, { seed = 42 })
      local count = {}
      for r = 1, R do
        assert.are.equal((n + R - 1) // R, #s[r])
        for _, i in ipairs(s[r]) do count[i] = (count[i] or 0) + 1 end
      end
      local extra = 0
      for i = 1, n do
        assert(count[i] and count[i] >= 1, "index " .. i .. " missing")
        extra = extra + count[i] - 1
      end
      assert.are.equal(((n + R - 1) // R) * R - n, extra)   -- only the padding repeats
      assert.are.same(s, shards(n, R, { seed = 42 }))        -- deterministic
      -- epoch 2 is another order, and the same one as randperm with seed + 1
      local a = cnn.data.DistributedSampler(n, { num_replicas = 1, rank = 1, seed = 42 })
      a:set_epoch(2)
      assert.are.same(cnn.randperm(n, 43):double():totable(), a:indices():totable())
      assert.are_not.same(s, shards(n, R, { seed = 43 }))
    end
  end)

  it("drives a DataLoader: each rank's batches come from its shard, epoch by epoch", function()
    local ds = cnn.data.TensorDataset(cnn.arange(1, 11, "float64"))
    local seen = {}
    for r = 1, 2 do
      local sampler = cnn.data.DistributedSampler(ds, { num_replicas = 2, rank = r, seed = 7 })
      local loader = cnn.data.DataLoader(ds, { batch_size = 2, sampler = sampler })
      assert.are.equal(3, loader:len())
      local got = {}
      for batch in loader:iter() do
        for _, v in ipairs(batch[1]:totable()) do got[#got + 1] = v end
      end
      assert.are.same(sampler:indices():totable(), got)   -- epoch 1's shard (the loader set it)
      for _, v in ipairs(got) do seen[v] = true end
    end
    for i = 1, 10 do assert.is_true(seen[i], "value " .. i) end
  end)

  it("checks its arguments", function()
    assert.has_error(function() cnn.data.DistributedSampler(10, { num_replicas = 2, rank = 3 }) end,
      "cnn.data.DistributedSampler: argument 2 (rank): expected a rank in 1..2, got 3")
    assert.has_error(function() cnn.data.DistributedSampler(10, { ranks = 2 }) end)
    assert.has_error(function() cnn.data.DataLoader(cnn.data.TensorDataset(cnn.zeros(3)), { sampler = {} }) end)
  end)
end)
