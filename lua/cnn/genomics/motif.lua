-- cnn.genomics (DNA part): simulated motif data, users' own labelled FASTA files, the primer's CNN
-- (Zou et al. 2019), first-layer filters as position weight matrices, reverse complements and motif
-- matching. Saliency and mutagenesis are in attribution.lua, the pictures in dna_plot.lua; the
-- public names are gathered by dna.lua. Spec: spec/genomics_dna_spec.lua; docs/genomics.md.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local nn = cnn.nn
local M = {}

local BASES = { "A", "C", "G", "T" }
local COMPLEMENT = { A = "T", C = "G", G = "C", T = "A", N = "N", a = "t", c = "g", g = "c", t = "a", n = "n" }

-- a DNA string of A C G T N (any case)
local function dna(fn, i, name, s)
  A.str(fn, i, name, s)
  if s == "" or s:find("[^ACGTNacgtn]") then A.fail(fn, i, name, "a non-empty string of A, C, G, T, N", s) end
  return s
end

-- reverse_complement(s): the other strand, read 5' to 3' (case kept, N stays N)
function M.reverse_complement(s)
  dna("cnn.genomics.reverse_complement", 1, "seq", s)
  return (s:reverse():gsub(".", COMPLEMENT))
end

-- motif_match(a, b): the best ungapped alignment of a against b or b's reverse complement, shifted
-- so that they overlap by at least half the shorter one -> matches (equal letters, case ignored,
-- N never matches), offset (b's start relative to a's, 0-based), strand ("+" or "-")
function M.motif_match(a, b)
  local fn = "cnn.genomics.motif_match"
  a, b = dna(fn, 1, "a", a):upper(), dna(fn, 2, "b", b):upper()
  local best, off, strand = -1, 0, "+"
  local min_overlap = math.ceil(math.min(#a, #b) / 2)
  for _, st in ipairs({ "+", "-" }) do
    local bb = st == "+" and b or M.reverse_complement(b)
    for s = -(#bb - min_overlap), #a - min_overlap do      -- bb[j] faces a[j + s]
      local m = 0
      for j = math.max(1, 1 - s), math.min(#bb, #a - s) do
        local c = bb:sub(j, j)
        if c ~= "N" and c == a:sub(j + s, j + s) then m = m + 1 end
      end
      if m > best then best, off, strand = m, s, st end
    end
  end
  return best, off, strand
end

-- ---- simulated data ----

-- the sequences as strings from an (n, L) int64 tensor of base indices 1..4
local function strings(t)
  local rows, out = t:totable(), {}
  for i, r in ipairs(rows) do
    for j = 1, #r do r[j] = BASES[r[j]] end
    out[i] = table.concat(r)
  end
  return out
end

-- simulate_motif{n=2000, length=50, motif="CGACCGAACTCC", fraction=0.5, mutation_rate=0, seed=, out=}
--   -> seqs (table of strings), labels (int64 (n) of 0/1), positions (int64 (n): the motif's
-- 1-based start, 0 without it). With `seed` the draws come from that seed and the context's
-- generator is left as it was; without, from the context's generator. With `out` (a folder,
-- created if needed), writes out/sequences.fa and out/labels.csv (id,label).
function M.simulate_motif(opts)
  local fn = "cnn.genomics.simulate_motif"
  opts = A.opts(fn, 1, opts, { "n", "length", "motif", "fraction", "mutation_rate", "seed", "out" })
  local n = A.int(fn, 1, "n", opts.n, 1, 2000)
  local L = A.int(fn, 1, "length", opts.length, 1, 50)
  local motif = dna(fn, 1, "motif", opts.motif or "CGACCGAACTCC"):upper()
  if motif:find("N") then A.fail(fn, 1, "motif", "a string of A, C, G, T", opts.motif) end
  local frac = A.finite(fn, 1, "fraction", opts.fraction, 0.5, 0, 1)
  local rate = A.finite(fn, 1, "mutation_rate", opts.mutation_rate, 0, 0, 1)
  local seed = A.optint(fn, 1, "seed", opts.seed)
  if opts.out ~= nil then A.str(fn, 1, "out", opts.out) end
  local k = #motif
  if k > L then A.fail(fn, 1, "length", ("at least the motif's length %d"):format(k), opts.length) end
  if n * L > 2 ^ 28 then A.fail(fn, 1, "n", ("n * length at most 2^28"), n) end

  local saved
  if seed then saved = cnn.get_rng_state(); cnn.manual_seed(seed) end
  local seqs = strings(cnn.randint(1, 5, { n, L }))
  local present = cnn.rand({ n }, "float64"):lt(frac):totable()
  local starts = cnn.randint(1, L - k + 2, { n }):totable()
  local mutate = cnn.rand({ n, k }, "float64"):lt(rate):totable()
  local shift = cnn.randint(1, 4, { n, k }):totable()   -- a mutated base moves 1..3 steps along ACGT
  local index = { A = 1, C = 2, G = 3, T = 4 }
  local labels, positions = {}, {}
  for i = 1, n do
    if present[i] == 1 then
      local m = {}
      for j = 1, k do
        local b = index[motif:sub(j, j)]
        m[j] = mutate[i][j] == 1 and BASES[(b - 1 + shift[i][j]) % 4 + 1] or BASES[b]
      end
      local s = starts[i]
      seqs[i] = seqs[i]:sub(1, s - 1) .. table.concat(m) .. seqs[i]:sub(s + k)
      labels[i], positions[i] = 1, s
    else
      local tries = 0
      while seqs[i]:find(motif, 1, true) do                   -- label 1 exactly when present
        tries = tries + 1
        if tries > 1000 then
          if saved then cnn.set_rng_state(saved) end
          A.error(("%s: the motif %s occurs by chance in almost every sequence of %d bases: use a longer motif"):format(fn, motif, L))
        end
        seqs[i] = strings(cnn.randint(1, 5, { 1, L }))[1]
      end
      labels[i], positions[i] = 0, 0
    end
  end
  if saved then cnn.set_rng_state(saved) end

  if opts.out then
    local dir = opts.out
    if not os.execute(("mkdir -p '%s'"):format(dir:gsub("'", "'\\''"))) then
      A.error(("%s: cannot create the folder %s"):format(fn, dir))
    end
    local fa, csv = {}, { "id,label" }
    for i = 1, n do
      fa[#fa + 1] = (">seq%d\n%s"):format(i, seqs[i])
      csv[#csv + 1] = ("seq%d,%d"):format(i, labels[i])
    end
    A.call_as(fn, cnn._file.write, dir .. "/sequences.fa", table.concat(fa, "\n") .. "\n", "genomics.simulate_motif")
    A.call_as(fn, cnn._file.write, dir .. "/labels.csv", table.concat(csv, "\n") .. "\n", "genomics.simulate_motif")
  end
  return seqs, cnn.tensor(labels, "int64"), cnn.tensor(positions, "int64")
end

-- read_labeled(fasta, labels_csv) -> seqs, labels (int64 (N) of 0/1), ids: the FASTA records in
-- file order, each with its label from the CSV file's `id` and `label` columns (the files
-- simulate_motif writes)
function M.read_labeled(fasta, labels)
  local fn = "cnn.genomics.read_labeled"
  A.str(fn, 1, "fasta", fasta)
  A.str(fn, 2, "labels", labels)
  local ids, seqs = A.call_as(fn, cnn.data.sequence.read_fasta, fasta)
  local t = A.call_as(fn, cnn.data.csv.read, labels, { numeric = false })
  local idc, lab = t.columns.id, t.columns.label
  if not idc or not lab then
    A.error(("%s: %s: expected the columns id and label, got %s"):format(fn, labels, table.concat(t.names, ",")))
  end
  local by = {}
  for r = 1, #idc do
    if by[idc[r]] ~= nil then A.error(("%s: %s: line %d: id '%s' appears twice"):format(fn, labels, r + 1, idc[r])) end
    if lab[r] ~= "0" and lab[r] ~= "1" then
      A.error(("%s: %s: line %d: label '%s' (expected 0 or 1)"):format(fn, labels, r + 1, lab[r]))
    end
    by[idc[r]] = tonumber(lab[r])
  end
  local out = {}
  for i, id in ipairs(ids) do
    out[i] = by[id]
    if out[i] == nil then A.error(("%s: %s: no label for the sequence '%s' of %s"):format(fn, labels, id, fasta)) end
  end
  if #ids == 0 then A.error(("%s: %s: no sequences"):format(fn, fasta)) end
  for i = 2, #seqs do
    if #seqs[i] ~= #seqs[1] then
      A.error(("%s: %s: sequence '%s' has length %d, expected %d like '%s'"):format(fn, fasta, ids[i], #seqs[i], #seqs[1], ids[1]))
    end
  end
  return seqs, cnn.tensor(out, "int64"), ids
end

-- ---- the primer's model ----

-- motif_cnn{length=50, filters=32, kernel=12, pool=4, hidden=16, classes=2}: Conv1d(4 -> filters,
-- kernel) -> MaxPool1d(pool) -> Flatten -> Linear(. -> hidden) -> ReLU -> Linear(hidden -> classes),
-- initialised as Keras (the primer's framework) does: Glorot-uniform weights, zero biases. On the
-- simulated data it generalises better than PyTorch's default initialisation (docs/genomics.md).
function M.motif_cnn(opts)
  local fn = "cnn.genomics.motif_cnn"
  opts = A.opts(fn, 1, opts, { "length", "filters", "kernel", "pool", "hidden", "classes" })
  local L = A.int(fn, 1, "length", opts.length, 1, 50)
  local F = A.int(fn, 1, "filters", opts.filters, 1, 32)
  local k = A.int(fn, 1, "kernel", opts.kernel, 1, 12)
  local p = A.int(fn, 1, "pool", opts.pool, 1, 4)
  local h = A.int(fn, 1, "hidden", opts.hidden, 1, 16)
  local c = A.int(fn, 1, "classes", opts.classes, 1, 2)
  local pooled = (L - k + 1) // p
  if pooled < 1 then A.error(("%s: length %d leaves nothing after a kernel of %d and a pool of %d"):format(fn, L, k, p)) end
  if F * pooled > 2 ^ 24 or F * k > 2 ^ 24 or h > 2 ^ 16 or c > 2 ^ 16 then A.error(fn .. ": the model would be too large") end
  local model = nn.Sequential {
    nn.Conv1d(4, F, k), nn.MaxPool1d(p), nn.Flatten(), nn.Linear(F * pooled, h), nn.ReLU(), nn.Linear(h, c),
  }
  for _, i in ipairs({ 1, 4, 6 }) do
    nn.init.xavier_uniform_(model[i].weight)
    nn.init.zeros_(model[i].bias)
  end
  return model
end

-- ---- first-layer filters as motifs ----

-- the first Conv1d of a model (the model itself when it is one)
function M._first_conv(fn, model)
  if type(model) ~= "table" or type(model.modules) ~= "function" then A.fail(fn, 1, "model", "an nn.Module", model) end
  for _, m in ipairs(model:modules()) do
    if getmetatable(m) and getmetatable(m).__name == "nn.Conv1d" then return m end
  end
  A.error(fn .. ": argument 1 (model): the model has no nn.Conv1d")
end

-- sequences given as a tensor (N, 4, L) (or (4, L)) or a list of strings -> float32 (N, 4, L)
function M._onehot(fn, i, name, x)
  if type(x) == "table" and not cnn.is_tensor(x) then
    local n = rawlen(x)
    if n == 0 then A.fail(fn, i, name, "a tensor (N, 4, L) or a list of sequences", x) end
    for j = 1, n do dna(fn, i, ("%s[%d]"):format(name, j), rawget(x, j)) end
    return A.call_as(fn, cnn.data.sequence.one_hot, table.move(x, 1, n, 1, {}))
  end
  A.tensor(fn, i, name, x)
  if x:dim() == 2 then x = x:unsqueeze(1) end
  if x:dim() ~= 3 or x:size(2) ~= 4 or x:size(3) == 0 or x:size(1) == 0 or x:dtype() == "int64" then
    A.fail(fn, i, name, "a float tensor (N, 4, L) or a list of sequences", x)
  end
  return x
end

local function ic_of(ppm)          -- (F, 4, k) probabilities -> (F, k) bits: 2 + sum p log2 p
  local plogp = cnn.where(ppm:gt(0), ppm * ppm:clamp(1e-300, nil):log() / math.log(2), 0)
  return plogp:sum(2):squeeze(2) + 2
end

-- filter_pwms(model, x_pos [, {threshold = 0.5}]) -> a list, one entry per filter of the model's
-- first Conv1d: {filter =, pwm = float64 (4, k) base frequencies, count = windows used,
-- consensus = string (lower case where a column has under 1 bit), ic = bits (sum over columns),
-- activation = the mean activation of the windows used}. The windows are, in each sequence, the
-- one where the filter responds most, kept when that response is above threshold times the
-- filter's largest response over all sequences (as Kelley et al.'s Basset; a filter that never
-- responds above 0 gets count 0, a pwm of 0.25 and consensus of N).
function M.filter_pwms(model, x_pos, opts)
  local fn = "cnn.genomics.filter_pwms"
  local conv = M._first_conv(fn, model)
  local x = M._onehot(fn, 2, "x_pos", x_pos)
  opts = A.opts(fn, 3, opts, { "threshold" })
  local thr = A.finite(fn, 3, "threshold", opts.threshold, 0.5, 0, 1)
  local w = conv.weight
  local F, k = w:size(1), w:size(3)
  if w:size(2) ~= 4 or conv.stride ~= 1 or conv.dilation ~= 1 or conv.padding ~= 0 or conv.groups ~= 1 then
    A.error(fn .. ": argument 1 (model): the first nn.Conv1d must take 4 channels with stride 1, no padding, no dilation, no groups")
  end
  local N, L = x:size(1), x:size(3)
  if L < k then A.fail(fn, 2, "x_pos", ("sequences of at least the kernel's %d bases"):format(k), x) end
  local Lo = L - k + 1
  return cnn.no_grad(function()
    local xd = x:to(w:dtype()):contiguous()
    local act = A.call_as(fn, cnn.F.conv1d, xd, w, conv.bias):double()           -- (N, F, Lo)
    local best = act:max(3)                                                      -- (N, F)
    local top = best:max(1):view(1, F)                                            -- (1, F)
    local keep = best:gt(top:clamp(0, nil) * thr):double() * best:gt(0):double()  -- (N, F)
    local at = act:eq(best:view(N, F, 1)):double()                                -- the best windows (ties share)
    at = at / at:sum(3):view(N, F, 1) * keep:view(N, F, 1)
    local wins = {}
    for o = 1, k do wins[o] = xd:narrow(3, o, Lo):double() end                   -- (N, 4, Lo) each
    local W = cnn.stack(wins, 4):permute(1, 3, 2, 4):reshape(N * Lo, 4 * k)      -- windows (N*Lo, 4k)
    local counts = at:permute(2, 1, 3):reshape(F, N * Lo):matmul(W):view(F, 4, k)
    local nf = keep:sum(1)                                                        -- (F)
    local mass = counts:sum(2):view(F, 1, k)
    local ppm = cnn.where(mass:gt(0):expand(F, 4, k), counts / mass:clamp(1e-300, nil), 0.25)
    local ic = ic_of(ppm)
    local meanact = (best * keep):sum(1) / nf:clamp(1, nil)
    local arg = ppm:argmax(2):view(F, k):totable()
    local ict, nft, actt, ics = ic:totable(), nf:totable(), meanact:totable(), ic:sum(2):view(F):totable()
    local out = {}
    for f = 1, F do
      local cons = {}
      for j = 1, k do
        local b = nft[f] > 0 and BASES[arg[f][j]] or "N"
        cons[j] = ict[f][j] < 1 and b:lower() or b
      end
      out[f] = { filter = f, pwm = ppm[f]:clone(), count = math.tointeger(nft[f]), consensus = table.concat(cons),
                 ic = nft[f] > 0 and ics[f] or 0, activation = actt[f] }
    end
    return out
  end)
end

return M
