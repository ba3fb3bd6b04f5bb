-- bench/motif.lua: the DNA CNN of examples/genomics/motif.lua (the primer's model, 6,226
-- parameters): one training epoch (1,500 sequences of 50 bases, batch 32, Adam), and in-silico
-- mutagenesis of 500 sequences of 50 bases and of 100 sequences of 1,000 bases (a promoter
-- window) with cnn.genomics.mutagenesis' default batching. Twin: bench/motif_torch.py.
local cnn = require "cnn"
local B = require "lib"
local G = cnn.genomics

cnn.manual_seed(1)
local seqs, labels = G.simulate_motif { n = 1500, seed = 1 }
local x, y = cnn.data.sequence.one_hot(seqs), labels + 1
local model = G.motif_cnn()
local opt = cnn.optim.Adam(model, { lr = 1e-2 })
local loader = cnn.data.DataLoader(cnn.data.TensorDataset(x, y), { batch_size = 32, shuffle = true, seed = 1 })
local function epoch()
  for batch in loader:iter() do
    local loss = cnn.F.cross_entropy(model(batch[1]), batch[2])
    opt:zero_grad()
    loss:backward()
    opt:step()
  end
end
local s = B.time(epoch, { reps = 5, warm = 1 })
B.result("motif", "train epoch 1500 x 50 b32 (Adam)", s, nil, ("%.0f sequences/s"):format(1500 / s))

local x500 = x:narrow(1, 1, 500)
s = B.time(function() return G.mutagenesis(model, x500) end, { reps = 3, warm = 1 })
B.result("motif", "mutagenesis 500 x 50", s, nil, ("%.0f mutants/s"):format(500 * 50 * 4 / s))

local long = G.motif_cnn { length = 1000 }
local xl = cnn.data.sequence.one_hot((G.simulate_motif { n = 100, length = 1000, seed = 2 }))
s = B.time(function() return G.mutagenesis(long, xl) end, { reps = 1, warm = 0 })   -- 400,000 mutants: once
B.result("motif", "mutagenesis 100 x 1000", s, nil, ("%.0f mutants/s"):format(100 * 1000 * 4 / s))
