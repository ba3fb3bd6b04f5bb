-- cnn.genomics, DNA part (lua/cnn/genomics/motif.lua, attribution.lua, dna_plot.lua): the
-- simulator, the labelled-file reader, the primer's model, saliency and mutagenesis against hand
-- computations on tiny models with known weights, filters as PWMs, and the pictures.
local cnn = require "cnn"
local H = require "helpers"
local G = cnn.genomics
local nn = cnn.nn

local MOTIF = "CGACCGAACTCC"

local function parse(path)                  -- element counts of an SVG that must be valid XML
  local lxp = require "lxp"
  local counts = {}
  local p = lxp.new({ StartElement = function(_, name, attrs)
    counts[name] = (counts[name] or 0) + 1
    if name == "circle" then counts.circle_fill = attrs.fill end
  end })
  local f = assert(io.open(path))
  local text = f:read("a")
  f:close()
  assert(p:parse(text), "invalid XML")
  assert(p:parse())
  p:close()
  return counts, text
end

-- a model with known weights: Conv1d(4 -> 1, kernel 1) (base weights w) -> ReLU -> Flatten ->
-- Linear(L -> 2), whose class-2 row is v (class-1 row 0), all biases 0 but the conv's (b)
local function tiny(w, b, v)
  local L = #v
  local m = nn.Sequential { nn.Conv1d(4, 1, 1), nn.ReLU(), nn.Flatten(), nn.Linear(L, 2) }
  cnn.no_grad(function()
    m[1].weight:copy(cnn.tensor(w):view(1, 4, 1))
    m[1].bias:fill_(b)
    m[4].weight:zero_()
    m[4].weight:select(1, 2):copy(cnn.tensor(v))
    m[4].bias:zero_()
  end)
  return m
end

describe("cnn.genomics (DNA)", function()
  local dir = os.tmpname()
  os.remove(dir)
  os.execute("mkdir -p " .. dir)
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("simulate_motif: label 1 exactly when the motif is there, at the returned position", function()
    local seqs, labels, pos = G.simulate_motif { n = 400, length = 30, seed = 3 }
    assert.are.equal(400, #seqs)
    assert.are.equal("int64", labels:dtype())
    local lab, p = labels:totable(), pos:totable()
    local ones = 0
    for i, s in ipairs(seqs) do
      assert.are.equal(30, #s)
      assert.is_truthy(s:match("^[ACGT]+$"))
      local has = s:find(MOTIF, 1, true) ~= nil
      assert.are.equal(has and 1 or 0, lab[i])
      if lab[i] == 1 then
        ones = ones + 1
        assert.are.equal(MOTIF, s:sub(p[i], p[i] + #MOTIF - 1))
      else
        assert.are.equal(0, p[i])
      end
    end
    assert.is_true(ones > 160 and ones < 240, "about half: " .. ones)
  end)

  it("simulate_motif: deterministic, and leaves the context's generator alone", function()
    cnn.manual_seed(11)
    local a = G.simulate_motif { n = 50, seed = 5 }
    local r1 = cnn.rand({ 3 }, "float64"):totable()
    cnn.manual_seed(11)
    local r2 = cnn.rand({ 3 }, "float64"):totable()
    assert.are.same(r2, r1)
    local b = G.simulate_motif { n = 50, seed = 5 }
    local c = G.simulate_motif { n = 50, seed = 6 }
    assert.are.same(a, b)
    assert.are_not.same(a, c)
  end)

  it("simulate_motif: mutation_rate = 1 changes every base of the planted copy", function()
    local seqs, labels, pos = G.simulate_motif { n = 60, length = 20, mutation_rate = 1, seed = 2 }
    for i, s in ipairs(seqs) do
      if labels[i] == 1 then
        local copy = s:sub(pos[i], pos[i] + 11)
        for j = 1, 12 do assert.are_not.equal(MOTIF:sub(j, j), copy:sub(j, j)) end
      end
    end
  end)

  it("writes sequences.fa and labels.csv, which read_labeled reads back", function()
    local seqs, labels = G.simulate_motif { n = 20, length = 15, seed = 1, out = dir .. "/sim" }
    local f = assert(io.open(dir .. "/sim/labels.csv"))
    assert.are.equal("id,label", f:read("l"))
    f:close()
    local s2, l2, ids = G.read_labeled(dir .. "/sim/sequences.fa", dir .. "/sim/labels.csv")
    assert.are.same(seqs, s2)
    assert.are.same(labels:totable(), l2:totable())
    assert.are.equal("seq20", ids[20])
    -- labels in another order, and a missing one
    local w = assert(io.open(dir .. "/l.csv", "w"))
    w:write("label,id\n1,b\n0,a\n")
    w:close()
    w = assert(io.open(dir .. "/s.fa", "w"))
    w:write(">a\nACGT\n>b\nTTTT\n>c\nGGGG\n")
    w:close()
    H.errors(function() G.read_labeled(dir .. "/s.fa", dir .. "/l.csv") end, "no label for the sequence 'c'")
    w = assert(io.open(dir .. "/l.csv", "a"))
    w:write("1,c\n")
    w:close()
    local s3, l3 = G.read_labeled(dir .. "/s.fa", dir .. "/l.csv")
    assert.are.same({ "ACGT", "TTTT", "GGGG" }, s3)
    assert.are.same({ 0, 1, 1 }, l3:totable())
    w = assert(io.open(dir .. "/l.csv", "a"))
    w:write("2,d\n")
    w:close()
    H.errors(function() G.read_labeled(dir .. "/s.fa", dir .. "/l.csv") end, "line 5: label '2' (expected 0 or 1)")
  end)

  it("motif_cnn is the primer's model: 6,226 parameters, (N, 4, 50) -> (N, 2)", function()
    local m = G.motif_cnn()
    assert.are.equal(6226, m:num_parameters())
    assert.are.same({ 3, 2 }, m(cnn.zeros(3, 4, 50)):size())
    assert.are.same({ 16, 288 }, m[4].weight:size())
    assert.are.equal(0, m[1].bias:abs():sum():item())
    assert.is_true(m[1].weight:abs():max():item() <= math.sqrt(6 / (4 * 12 + 32 * 12)))   -- Glorot's bound
    -- 4*8*5 + 8, (16 // 2) * 8 -> 3: 64*3 + 3, 3*2 + 2
    assert.are.equal(168 + 195 + 8, G.motif_cnn { length = 20, filters = 8, kernel = 5, pool = 2, hidden = 3 }:num_parameters())
  end)

  it("reverse_complement and motif_match", function()
    assert.are.equal("GGAGTTCGGTCG", G.reverse_complement(MOTIF))
    assert.are.equal("nNAcgT", G.reverse_complement("AcgTNn"))
    assert.are.same({ 12, 0, "+" }, { G.motif_match(MOTIF, MOTIF) })
    assert.are.same({ 12, 0, "-" }, { G.motif_match(MOTIF, "GGAGTTCGGTCG") })
    -- "gaCGACCGAACT" is the motif shifted right by 2: b (the motif) starts 2 to a's right
    assert.are.same({ 10, 2, "+" }, { G.motif_match("gaCGACCGAACT", MOTIF) })
    H.errors(function() G.motif_match("ACGX", MOTIF) end, "cnn.genomics.motif_match: argument 1 (a)")
  end)

  it("saliency = gradient x input summed over channels, clipped at 0, by hand", function()
    -- w = (1, -2, 3, 0.5) for A C G T, conv bias -0.5, v = (2, -1, 1, 3)
    -- at a base with weight w_r: pre = w_r - 0.5; relu passes when pre > 0; d score / d x[c, l] =
    -- v_l w_c [pre_l > 0]; times the input (1 at r): v_l w_r [w_r > 0.5]
    local m = tiny({ 1, -2, 3, 0.5 }, -0.5, { 2, -1, 1, 3 })
    local s = G.saliency(m, { "AGCT", "GGAA" })
    -- AGCT: A: 2*1 = 2; G: -1*3 = -3 -> 0; C: relu off -> 0; T: pre = 0 -> off -> 0
    -- GGAA: G: 2*3 = 6; G: -3 -> 0; A: 1*1 = 1; A: 3*1 = 3
    H.close(s, { { 2, 0, 0, 0 }, { 6, 0, 1, 3 } }, 1e-6)
    H.close(G.saliency(m, { "GGAA" }, 1), { { 0, 0, 0, 0 } })    -- class 1's row is 0
    assert.is_true(m.training)                                    -- the mode is put back
  end)

  it("mutagenesis: score changes by hand, 0 at the reference", function()
    local w, b, v = { 1, -2, 3, 0.5 }, -0.5, { 2, -1, 1, 3 }
    local m = tiny(w, b, v)
    local relu = function(t) return math.max(0, t + b) end
    local seq, idx = "AGCT", { A = 1, C = 2, G = 3, T = 4 }
    local want = {}
    for c = 1, 4 do
      want[c] = {}
      for l = 1, 4 do
        local r = idx[seq:sub(l, l)]
        want[c][l] = v[l] * (relu(w[c]) - relu(w[r]))
      end
    end
    local got = G.mutagenesis(m, { seq })
    assert.are.same({ 1, 4, 4 }, got:size())
    H.close(got[1], want, 1e-6)
    for l = 1, 4 do assert.are.equal(0, got[1][idx[seq:sub(l, l)]][l]) end
  end)

  it("mutagenesis equals the score differences of explicitly mutated sequences, in any batching", function()
    cnn.manual_seed(4)
    local m = nn.Sequential { nn.Conv1d(4, 3, 3), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(), nn.Linear(12, 4), nn.Tanh(), nn.Linear(4, 3) }
    local seqs = { "ACGTTGCAGT", "GGGACCTTAC", "TACGATCGAA" }
    local x = cnn.data.sequence.one_hot(seqs)
    local ref = m(x):detach()
    local want = cnn.zeros(3, 4, 10)
    local bases = { "A", "C", "G", "T" }
    for n = 1, 3 do
      local muts = {}
      for c = 1, 4 do
        for l = 1, 10 do
          muts[#muts + 1] = seqs[n]:sub(1, l - 1) .. bases[c] .. seqs[n]:sub(l + 1)
        end
      end
      local s = m(cnn.data.sequence.one_hot(muts)):detach():select(2, 3):view(4, 10) - ref[n][3]
      want[n]:copy(s)
    end
    for _, bs in ipairs({ 4, 12, 40, 80, 120, 1000 }) do
      H.close(G.mutagenesis(m, x, 3, { batch_size = bs }), want, 1e-5)
    end
    H.errors(function() G.mutagenesis(m, x, 4) end, "cnn.genomics.mutagenesis: argument 3 (class): expected a class in 1..3, got 4")
    H.errors(function() G.mutagenesis(m, cnn.zeros(2, 3, 10)) end, "cnn.genomics.mutagenesis: argument 2 (x): expected a float tensor (N, 4, L)")
  end)

  it("filter_pwms: a filter that is the one-hot of ACG gives ACG with 6 bits", function()
    local m = nn.Sequential { nn.Conv1d(4, 2, 3), nn.Flatten() }
    cnn.no_grad(function()
      m[1].weight:zero_()
      m[1].weight[1]:copy(cnn.tensor({ { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 }, { 0, 0, 0 } }))
      m[1].bias:copy(cnn.tensor({ 0, -1 }))                  -- filter 2 never responds
    end)
    -- every sequence holds ACG once; the other windows score at most 2 (above half of 3: kept
    -- only where they are the best, which never happens)
    local p = G.filter_pwms(m, { "TTACGTT", "ACGTTTT", "TTTTACG", "GACGTAA" })
    assert.are.equal(2, #p)
    assert.are.equal("ACG", p[1].consensus)
    assert.are.equal(4, p[1].count)
    H.close(p[1].pwm, { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 }, { 0, 0, 0 } })
    assert.is_true(math.abs(p[1].ic - 6) < 1e-9)
    assert.is_true(math.abs(p[1].activation - 3) < 1e-6)
    assert.are.equal(0, p[2].count)
    assert.are.equal("nnn", p[2].consensus)
    assert.are.equal(0, p[2].ic)
    H.close(p[2].pwm, cnn.full({ 4, 3 }, 0.25))
    -- windows that tie share their sequence's weight: TACGACG has ACG twice
    local q = G.filter_pwms(m, { "ACGACGT", "CCCCCCC" }, { threshold = 0.9 })
    assert.are.equal("ACG", q[1].consensus)
    assert.are.equal(1, q[1].count)
    -- a column with p = (0.5, 0.5, 0, 0) holds 1 bit (two windows, ACG and AGG): upper case
    local r = G.filter_pwms(m, { "ACGTT", "AGGTT" }, { threshold = 0 })
    H.close(r[1].pwm:select(2, 2), { 0, 0.5, 0.5, 0 })
    assert.is_true(math.abs(r[1].ic - 5) < 1e-9)
    assert.are.equal("ACG", r[1].consensus)                   -- argmax ties: the first base
    -- (0, 1/3, 1/3, 1/3): 2 - log2(3) bits, under 1: lower case
    r = G.filter_pwms(m, { "ACGTT", "AGGTT", "ATGTT" }, { threshold = 0 })
    assert.is_true(math.abs(r[1].ic - (6 - math.log(3, 2))) < 1e-9)
    assert.are.equal("AcG", r[1].consensus)
  end)

  it("trained briefly, the primer's model looks at the planted motif", function()
    local seqs, labels, pos = G.simulate_motif { n = 800, seed = 7 }
    local x, y = cnn.data.sequence.one_hot(seqs), labels + 1
    cnn.manual_seed(7)
    local m = G.motif_cnn()
    local opt = cnn.optim.Adam(m, { lr = 1e-2 })
    local xtr, ytr = x:narrow(1, 1, 600), y:narrow(1, 1, 600)
    for _ = 1, 6 do
      local perm = cnn.randperm(600)
      for b = 1, 600, 32 do
        local i = perm:narrow(1, b, math.min(32, 601 - b))
        local loss = cnn.F.cross_entropy(m(xtr:index_select(1, i)), ytr:index_select(1, i))
        opt:zero_grad(); loss:backward(); opt:step()
      end
    end
    local xte, yte = x:narrow(1, 601, 200), y:narrow(1, 601, 200)
    local acc = cnn.metrics.accuracy(cnn.no_grad(function() return m(xte):argmax(2) end), yte)
    assert.is_true(acc > 0.9, "accuracy " .. acc)
    local idx = {}
    for i = 601, 800 do if labels[i] == 1 then idx[#idx + 1] = i end end
    local top = G.top_window(G.saliency(m, x:index_select(1, idx)), 12):totable()
    local hit = 0
    for j, i in ipairs(idx) do if math.abs(top[j] - pos[i]) < 12 then hit = hit + 1 end end
    assert.is_true(hit / #idx > 0.9, ("overlap in %d of %d"):format(hit, #idx))
    -- and a first-layer filter has become (part of) the motif
    local ptr = {}
    for i = 1, 600 do if labels[i] == 1 then ptr[#ptr + 1] = i end end
    local best = 0
    for _, f in ipairs(G.filter_pwms(m, x:index_select(1, ptr))) do best = math.max(best, (G.motif_match(f.consensus, MOTIF))) end
    assert.is_true(best >= 9, "best filter matches " .. best .. " bases")
  end)

  it("top_window: the start of the best window", function()
    local t = G.top_window(cnn.tensor({ { 0, 1, 5, 1, 0, 0 }, { 3, 0, 0, 0, 2, 2 } }), 2)
    assert.are.same({ 2, 5 }, t:totable())     -- ties: the first (1+5 at 2, 5+1 at 3)
  end)

  it("draws the saliency logo and the mutagenesis map", function()
    local seq = "ACGTNACGTA"
    local s = cnn.tensor({ 0, 1, 0, 2, 0.5, 0, 0, 3, 0, 0.1 })
    local counts, text = parse(G.plot_saliency(seq, s, dir .. "/sal.svg", { highlight = { 2, 4 } }))
    -- 6 letters scaled (one per positive score) + 10 along the axis + ticks, title, labels
    local scaled = select(2, text:gsub('font%-size="100"', ""))
    assert.are.equal(5, scaled)                                 -- N (position 5) is a bar
    assert.is_true(text:find('fill="#fff3b0"', 1, true) ~= nil)  -- the highlighted span
    assert.is_true(counts.text >= 16)
    local e = cnn.zeros(4, 10)
    e[2][1] = -2
    e[4][3] = 1
    counts, text = parse(G.plot_mutagenesis(seq, e, dir .. "/mut.svg"))
    assert.are.equal(9, counts.circle)                           -- one dot per reference base (none at N)
    assert.is_true(text:find("rgb(33,102,172)", 1, true) ~= nil) -- -2: the bluest
    assert.is_true(text:find("rgb(217,140,149)", 1, true) ~= nil) -- +1 = half the limit 2: half red
    H.errors(function() G.plot_mutagenesis(seq, cnn.zeros(4, 9), dir .. "/x.svg") end, "argument 2 (effects): expected a tensor [4,10]")
    H.errors(function() G.plot_saliency(seq, { 1, 2 }, dir .. "/x.svg") end, "expected 10 values (one per letter), got 2")
  end)

  it("errors name the function and the argument", function()
    H.errors(function() G.simulate_motif { n = 0 } end, "cnn.genomics.simulate_motif: argument 1 (n): expected a positive integer, got 0")
    H.errors(function() G.simulate_motif { length = 5 } end, "argument 1 (length): expected at least the motif's length 12, got 5")
    H.errors(function() G.simulate_motif { motif = "ACGX" } end, "argument 1 (motif)")
    H.errors(function() G.simulate_motif { sed = 1 } end, "unknown option 'sed'")
    H.errors(function() G.simulate_motif { motif = "A", n = 50, fraction = 0 } end, "occurs by chance in almost every sequence of 50 bases")
    H.errors(function() G.saliency({}, cnn.zeros(1, 4, 5)) end, "cnn.genomics.saliency: argument 1 (model): expected an nn.Module")
    H.errors(function() G.filter_pwms(nn.Linear(2, 2), { "ACGT" }) end, "cnn.genomics.filter_pwms: argument 1 (model): the model has no nn.Conv1d")
    H.errors(function() G.motif_cnn { length = 10 } end, "length 10 leaves nothing")
  end)

  it("answer hostile arguments with cnn.genomics messages, never a raw Lua error", function()
    local closed = cnn.zeros(1, 4, 5)
    getmetatable(closed).__close(closed)
    local hostile = { false, 0, -1, 1 / 0, 0 / 0, 2 ^ 63, "", "ACGT", "x", {}, { 1, 2 }, { "ACGT", 3 }, cnn.zeros(0),
      cnn.zeros(2, 4, 0), cnn.zeros(3, 5), cnn.zeros(1, 4, 5, "int64"), closed, cnn.zeros(1, 4, 5, "float64"),
      { n = -1 }, { length = 0.5 }, { threshold = 2 }, { batch_size = 0 }, { highlight = { 3, 1 } }, print, nn.Linear(2, 2),
      setmetatable({}, { __index = function() error("boom") end }) }
    local m = nn.Sequential { nn.Conv1d(4, 2, 3), nn.Flatten(), nn.Linear(6, 2) }
    local valid = {
      simulate_motif = { { n = 5, length = 20 } }, read_labeled = { "/nonexistent/a.fa", "/nonexistent/b.csv" },
      motif_cnn = { { length = 20 } }, filter_pwms = { m, cnn.zeros(2, 4, 5) }, reverse_complement = { "ACGT" },
      motif_match = { "ACGT", "CGT" }, saliency = { m, cnn.zeros(2, 4, 5), 2 }, mutagenesis = { m, cnn.zeros(2, 4, 5), 2, { batch_size = 8 } },
      top_window = { cnn.zeros(2, 5), 2 }, plot_saliency = { "ACGTA", cnn.zeros(5), "/nonexistent/x.svg" },
      plot_mutagenesis = { "ACGTA", cnn.zeros(4, 5), "/nonexistent/x.svg" },
    }
    for name, args in pairs(valid) do
      for pos = 1, #args + 1 do
        for _, h in ipairs(hostile) do
          local a = { table.unpack(args) }
          a[pos] = h
          if name:match("^plot_") and pos == 3 and type(h) == "string" then a[pos] = "/nonexistent/" .. h end  -- no files
          local ok, e = pcall(G[name], table.unpack(a, 1, math.max(#args, pos)))
          if not ok then
            -- (the user's own __index error passes through)
            assert(type(e) == "string" and (e:find("cnn%.") or e:find("boom")), ("%s, argument %d = %s: %s"):format(name, pos, tostring(h), tostring(e)))
          end
        end
      end
    end
  end)
end)
