-- make demo: trains a two-layer network by gradient descent on the XOR of four Gaussian blobs
-- (a problem no linear model solves), with autograd doing the calculus, and prints accuracy.
local cnn = require "cnn"
cnn.manual_seed(1)

local function blobs(n)
  -- centres (+-1, +-1); class 2 where the signs differ (XOR)
  local sx = cnn.randint(0, 2, {n, 1}, "float32") * 2 - 1
  local sy = cnn.randint(0, 2, {n, 1}, "float32") * 2 - 1
  local x = cnn.cat({sx, sy}, 2) + cnn.randn(n, 2) * 0.35
  local y = (sx * sy):lt(0)                 -- 0/1 labels
  return x, cnn.cat({1 - y, y}, 2)          -- one-hot targets
end

local xtr, ytr = blobs(512)
local xte, yte = blobs(512)
local w1 = (cnn.randn(2, 16) * 0.5):requires_grad(true)
local b1 = cnn.zeros({16}, {requires_grad = true})
local w2 = (cnn.randn(16, 2) * 0.5):requires_grad(true)
local b2 = cnn.zeros({2}, {requires_grad = true})
local params = {w1, b1, w2, b2}

local function forward(x)
  return (x:matmul(w1) + b1):tanh():matmul(w2) + b2
end

local function cross_entropy(logits, onehot)
  local m = logits:max(2, true)
  local logp = logits - m - (logits - m):exp():sum(2, true):log()
  return -(logp * onehot):sum(2):mean()
end

local function accuracy(x, onehot)
  return cnn.no_grad(function()
    return forward(x):argmax(2):eq(onehot:argmax(2)):mean():item()
  end)
end

print(("before training: test accuracy %.1f%%"):format(100 * accuracy(xte, yte)))
for step = 1, 300 do
  local loss = cross_entropy(forward(xtr), ytr)
  for _, p in ipairs(params) do p:zero_grad() end
  loss:backward()
  cnn.no_grad(function()
    for _, p in ipairs(params) do p:sub_(p.grad * 0.5) end
  end)
  if step % 100 == 0 then print(("step %d  loss %.4f"):format(step, loss:item())) end
end
local acc = accuracy(xte, yte)
print(("after training: test accuracy %.1f%%"):format(100 * acc))
assert(acc > 0.9, "the demo network did not learn")
