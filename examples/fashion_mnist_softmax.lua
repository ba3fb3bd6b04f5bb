-- Fashion-MNIST with softmax regression: Debian's IDX files -> cnn.data.DataLoader (shuffled,
-- seeded) -> a linear model trained by SGD with autograd, with a cnn.progress bar per epoch.
-- Run: bin/cnn examples/fashion_mnist_softmax.lua [--epochs N] [--batch-size N] [--lr X]
local cnn = require "cnn"
local data = require "cnn.data"
local progress = require "cnn.progress"

local opts = cnn.cli.parse(arg, {
  description = "Softmax regression on Fashion-MNIST with the DataLoader and a progress bar",
  { "epochs", 2, "passes over the training set" },
  { "batch_size", 64, "samples per step" },
  { "lr", 0.1, "learning rate" },
  { "seed", 1, "seed of the weights and of the shuffling" },
})
cnn.manual_seed(opts.seed)

local train, test = data.fashion_mnist("train"), data.fashion_mnist("test")
local loader = data.DataLoader(train, { batch_size = opts.batch_size, shuffle = true, seed = opts.seed })
local w = (cnn.randn(784, 10) * 0.01):requires_grad(true)
local b = cnn.zeros({ 10 }, { requires_grad = true })

local function logits(x) return x:view(x:size(1), 784):matmul(w) + b end

-- labels 1..10 -> one-hot rows, built by comparison with 1..10 (broadcast)
local classes = cnn.arange(1, 11):view(1, 10)
local function onehot(y) return y:view(y:size(1), 1):eq(classes) end

local function cross_entropy(z, y)
  local m = z:max(2, true)
  local logp = z - m - (z - m):exp():sum(2, true):log()
  return -(logp * onehot(y)):sum(2):mean()
end

for epoch = 1, opts.epochs do
  local bar <close> = progress.bar(#loader, { desc = ("epoch %d/%d"):format(epoch, opts.epochs) })
  for batch in loader:iter() do
    local loss = cross_entropy(logits(batch[1]), batch[2])
    w:zero_grad(); b:zero_grad()
    loss:backward()
    cnn.no_grad(function() w:sub_(w.grad * opts.lr); b:sub_(b.grad * opts.lr) end)
    bar:update(1, { loss = loss:item() })
  end
end

local x, y = test.tensors[1], test.tensors[2]
local acc = cnn.no_grad(function() return logits(x):argmax(2):eq(y):mean():item() end)
print(("test accuracy %.1f%%"):format(100 * acc))
