-- DNA sequence CNN (Zou et al., Nature Genetics 2019, the primer's tutorial): 2,000 simulated 50-bp
-- sequences, about half carrying the 12-bp motif CGACCGAACTCC, label 1 exactly when it is there;
-- the primer's model Conv1d(4 -> 32, k 12) -> MaxPool1d(4) -> Flatten -> Linear(288 -> 16) + ReLU
-- -> Linear(16 -> 2) (6,226 parameters) trained with Adam on 1,500 sequences, tested on 500; then
-- saliency and in-silico mutagenesis pictures of a few positive test sequences, and the
-- first-layer filters as motifs (is the planted one among the top filters?).
--
--   bin/cnn examples/genomics/motif.lua [--seed 1] [--out out/genomics/motif]
--   bin/cnn examples/genomics/motif.lua --fasta my.fa --labels my.csv    # your own sequences
--
-- Your own data: a FASTA file of sequences of one length (A C G T N) and a CSV file with columns
-- id,label (label 0 or 1; ids as in the FASTA headers): the format the simulated run writes to
-- <out>/data/sequences.fa and <out>/data/labels.csv.
local cnn = require "cnn"
local G = cnn.genomics
local nn, data = cnn.nn, cnn.data

local opts = cnn.cli.parse(arg, {
  description = "Train the primer's DNA CNN on simulated motif data (or your own) and interpret it",
  { "fasta", "", "your sequences (FASTA); with --labels, instead of the simulated data" },
  { "labels", "", "your labels: a CSV file with columns id,label (0/1)" },
  { "n", 2000, "simulated sequences" },
  { "length", 50, "length of the simulated sequences" },
  { "motif", "CGACCGAACTCC", "the planted motif (simulated data)" },
  { "mutation_rate", 0, "chance that each base of a planted motif is mutated (simulated data)" },
  { "test", 500, "sequences held out for testing (the rest train)" },
  { "epochs", 20, "passes over the training sequences" },
  { "batch_size", 32, "sequences per step" },
  { "lr", 1e-2, "Adam's learning rate" },
  { "seed", 1, "seed of the simulation, the split, the weights and the shuffling" },
  { "show", 3, "positive test sequences pictured (saliency and mutagenesis)" },
  { "top", 5, "first-layer filters listed (by information content)" },
  { "threads", cnn.get_num_threads(), "threads for OpenBLAS and the library's kernels" },
  { "out", "out/genomics/motif", "folder for the data, model and pictures" },
})
cnn.set_num_threads(opts.threads)
local now = os.time
do local ok, system = pcall(require, "system"); if ok then now = system.gettime end end
local t_start = now()
local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
os.execute("mkdir -p " .. sh_quote(opts.out))

-- ---- data ----
local seqs, labels, positions, motif
if (opts.fasta ~= "") ~= (opts.labels ~= "") then
  io.stderr:write("motif.lua: --fasta and --labels go together (see --help)\n")
  os.exit(2)
end
if opts.fasta ~= "" then
  seqs, labels = G.read_labeled(opts.fasta, opts.labels)
  print(("%d sequences of %d bases from %s (%d labelled 1)"):format(#seqs, #seqs[1], opts.fasta, labels:sum():item()))
else
  motif = opts.motif:upper()
  seqs, labels, positions = G.simulate_motif { n = opts.n, length = opts.length, motif = motif,
    mutation_rate = opts.mutation_rate, seed = opts.seed, out = opts.out .. "/data" }
  print(("%d simulated sequences of %d bases, %d carrying %s (seed %d); written to %s/data/{sequences.fa, labels.csv}")
    :format(#seqs, opts.length, labels:sum():item(), motif, opts.seed, opts.out))
end
local N, L = #seqs, #seqs[1]
local n_test = math.min(opts.test, N - 1)
local x = data.sequence.one_hot(seqs)                       -- (N, 4, L)
local y = labels + 1                                          -- classes 1 (no motif), 2 (motif)
cnn.manual_seed(opts.seed)
local perm = cnn.randperm(N)
local tr, te = perm:narrow(1, 1, N - n_test), perm:narrow(1, N - n_test + 1, n_test)
local xtr, ytr, xte, yte = x:index_select(1, tr), y:index_select(1, tr), x:index_select(1, te), y:index_select(1, te)

-- ---- model and training ----
local model = G.motif_cnn { length = L }
print(model)
print(("%d parameters; %d training and %d test sequences; Adam lr %g, batch %d, %d epochs; %d thread(s)")
  :format(model:num_parameters(), N - n_test, n_test, opts.lr, opts.batch_size, opts.epochs, cnn.get_num_threads()))
local opt = cnn.optim.Adam(model, { lr = opts.lr })
local loader = data.DataLoader(data.TensorDataset(xtr, ytr), { batch_size = opts.batch_size, shuffle = true, seed = opts.seed })
local t0 = now()
do
  local bar <close> = cnn.progress.bar(opts.epochs * loader:len(), { desc = "training" })
  for epoch = 1, opts.epochs do
    loader:set_epoch(epoch)
    local sum, count = 0, 0
    for batch in loader:iter() do
      local loss = nn.functional.cross_entropy(model(batch[1]), batch[2])
      opt:zero_grad()
      loss:backward()
      opt:step()
      sum, count = sum + loss:item() * batch[1]:size(1), count + batch[1]:size(1)
      bar:update(1, { epoch = epoch, loss = sum / count })
    end
  end
end
local train_s = now() - t0

local logits = cnn.no_grad(function() return model(xte) end)
local pred = logits:argmax(2)
local acc = cnn.metrics.accuracy(pred, yte)
local auc = cnn.metrics.roc_auc(logits:softmax(2):select(2, 2), yte - 1)
print(("test accuracy %.1f%% (seed %d); AUC %.4f; training %.1f s"):format(100 * acc, opts.seed, auc, train_s))
cnn.save(model:state_dict(), opts.out .. "/model.safetensors")

-- ---- interpretation: saliency and in-silico mutagenesis of positive test sequences ----
local pos_te = {}
local yt, pt = yte:totable(), pred:totable()
for i = 1, n_test do if yt[i] == 2 then pos_te[#pos_te + 1] = i end end
local k = motif and #motif or 12
if #pos_te > 0 then
  local xp = xte:index_select(1, pos_te)
  local sal = G.saliency(model, xp)                          -- (P, L)
  local t1 = now()
  local mut = G.mutagenesis(model, xp)                       -- (P, 4, L)
  local mut_s = now() - t1
  print(("saliency and mutagenesis of the %d positive test sequences (%d mutants in %.2f s)"):format(#pos_te, #pos_te * 4 * L, mut_s))
  local starts = G.top_window(sal, math.min(k, L)):totable()
  if motif then                              -- does the most salient window overlap the planted motif?
    local hit, hit_m = 0, 0
    local mstarts = G.top_window((-mut):clamp(0, nil):sum(2):squeeze(2), math.min(k, L)):totable()
    for j, i in ipairs(pos_te) do
      local p = positions[te[i]]
      if math.abs(starts[j] - p) < k then hit = hit + 1 end
      if math.abs(mstarts[j] - p) < k then hit_m = hit_m + 1 end
    end
    print(("the top %d-base window of saliency overlaps the planted motif in %.1f%% of them (%d/%d); of mutagenesis (summed score losses) in %.1f%%")
      :format(k, 100 * hit / #pos_te, hit, #pos_te, 100 * hit_m / #pos_te))
  end
  local shown = 0
  for j, i in ipairs(pos_te) do
    if shown >= opts.show then break end
    if pt[i] == 2 then                                        -- correctly called positives
      shown = shown + 1
      local id, s = te[i], seqs[te[i]]
      local p = motif and positions[id] or nil
      local hl = p and { p, p + k - 1 } or { starts[j], starts[j] + math.min(k, L) - 1 }
      G.plot_saliency(s, sal[j], ("%s/saliency_%d.svg"):format(opts.out, shown),
        { title = ("Saliency, test sequence %d (%s shaded)"):format(id, p and "planted motif" or "top window"), highlight = hl })
      G.plot_mutagenesis(s, mut[j], ("%s/mutagenesis_%d.svg"):format(opts.out, shown),
        { title = ("In-silico mutagenesis, test sequence %d: change of the motif logit"):format(id) })
    end
  end
  print(("wrote %s/saliency_{1..%d}.svg and mutagenesis_{1..%d}.svg"):format(opts.out, shown, shown))
end

-- ---- first-layer filters as motifs ----
local pos_tr = {}
for i, v in ipairs(ytr:totable()) do if v == 2 then pos_tr[#pos_tr + 1] = i end end
if #pos_tr > 0 then
  local pwms = G.filter_pwms(model, xtr:index_select(1, pos_tr))
  table.sort(pwms, function(a, b) return a.ic > b.ic end)
  print(("top %d first-layer filters by information content (windows from %d positive training sequences):"):format(math.min(opts.top, #pwms), #pos_tr))
  local found
  for r = 1, math.min(opts.top, #pwms) do
    local f = pwms[r]
    local note = ""
    if motif then
      local m, off, strand = G.motif_match(f.consensus, motif)
      if m >= math.ceil(0.75 * math.min(#motif, #f.consensus)) then
        note = ("  matches the motif: %d bases, offset %d, %s strand"):format(m, off, strand)
        found = found or f
      end
    end
    print(("  filter %2d  %s  %5.1f bits  %4d windows%s"):format(f.filter, f.consensus, f.ic, f.count, note))
  end
  if motif then
    print(("the planted motif %s (or its reverse complement) is %samong the top %d filters%s"):format(motif,
      found and "" or "NOT ", opts.top, found and (" (filter %d, %s)"):format(found.filter, found.consensus) or ""))
  end
end
print(("done in %.1f s; model in %s/model.safetensors"):format(now() - t_start, opts.out))
