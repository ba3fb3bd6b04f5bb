-- make valgrind: exercises the tensor core's public API once (construction, views, math,
-- reductions, matmul, indexing, printing, autograd, errors, <close>) under valgrind's leak
-- checker. Small sizes: valgrind runs about 50x slower than native.
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "lua/?.so;" .. package.cpath
local cnn = require "cnn"

cnn.manual_seed(1)
local a = cnn.tensor({{1, 2, 3}, {4, 5, 6}})
local b = cnn.randn({3, 4}, "float64")
local _ = cnn.zeros(2, 3) + cnn.ones({2, 3}) * cnn.full({3}, 2) - cnn.arange(3) / 2
_ = cnn.linspace(0, 1, 5), cnn.eye(3), cnn.rand(2, 2), cnn.randint(0, 5, {4}), a:clone(), a:to("float64")
_ = a:view(3, 2), a:t():reshape(-1), a:permute({2, 1}), a:narrow(2, 2, 2), a:select(1, 2), a:unsqueeze(1):squeeze(),
    a:unsqueeze(1):expand(4, 2, 3):contiguous(), a:flatten(), a:split(2, 2), a:chunk(2, 2)
_ = a:exp():log():sqrt():abs():sign():floor():sigmoid():tanh():relu():clamp(0, 1) ^ 2, 2 ^ a, -a
_ = a:eq(2), a:lt(3), a:le(3), a:gt(3), a:ge(3), cnn.where(a:gt(2), a, 0), a:masked_fill(a:lt(3), -1)
_ = a:sum(), a:mean(2, true), a:var(1), a:std(), a:max(), a:argmax(2), a:argmin()
local v, i = a:min(2)
_ = a:matmul(b), a:t():matmul(a), cnn.rand(2, 2, 3):matmul(cnn.rand(3)), cnn.rand(3):matmul(cnn.rand(3))
_ = cnn.cat({a, a}, 2), cnn.stack({a, a}), a:index_select(2, {3, 1})
local c = a:clone()
c:add_(1):mul_(2):fill_(3):zero_():uniform_():normal_()
c[1] = 5; c[2] = cnn.tensor({1, 2, 3}); c:set(1, 1, 9)
_ = tostring(a), tostring(cnn.arange(3000):view(30, 100)), tostring(cnn.tensor(1)), tostring(cnn.zeros(0)),
    a:totable(), a:size(), a:stride(), a[1][1], #a, a:get(2, 3), cnn.memory()

local x = cnn.randn({3, 3}, {dtype = "float64", requires_grad = true})
local y = (x:matmul(x:t()):tanh() + cnn.cat({x, x}, 1):max(1):sum() + x:var()):sum()
y:backward({retain_graph = true})
y:backward()
_ = cnn.grad((x * x):sum(), {x}), x.grad, cnn.no_grad(function() return x * 2 end), x:detach()
assert(cnn.gradcheck(function(t) return t:sigmoid() * t end, {cnn.randn({2}, {dtype = "float64", requires_grad = true})}))

for _, bad in ipairs({
  function() return a + cnn.zeros(4) end, function() return a:view(4, -1) end,
  function() return cnn.matmul(a, a) end, function() return a[7] end, function() return cnn.tensor({{1}, {}}) end,
  function() return cnn.zeros(2 ^ 40, 2 ^ 40) end, function() return y:backward() end,
}) do assert(not pcall(bad)) end

do local t <close> = cnn.zeros(100) end
-- the convolution paths (Winograd; bands of rows for a large image), pooling, and blocks
-- reused from the block cache
for _ = 1, 2 do
  local F = cnn.F
  local xc = cnn.randn({4, 16, 20, 20}, {requires_grad = true})
  F.max_pool2d(F.conv2d(xc, cnn.randn(16, 16, 3, 3), nil, {padding = 1}):relu(), 2):sum():backward()
  local xb = cnn.randn({1, 3, 64, 64}, {requires_grad = true})
  F.conv2d(xb, cnn.randn(8, 3, 7, 7), nil, {stride = 2, padding = 3}):sum():backward()
  collectgarbage()
end
-- issue 24's paths at 2 threads: a slice shared between threads (split mode), 1x1 in place, the
-- inference fusion, threaded batch norm, pooling and optimizer, and cache eviction
do
  local F, nn = cnn.F, cnn.nn
  local was = cnn.get_num_threads()
  cnn.set_num_threads(2)
  local x1 = cnn.randn({1, 20, 9, 9}, {requires_grad = true})
  F.conv2d(x1, cnn.randn(40, 20, 3, 3), nil, {padding = 1}):sum():backward()
  F.conv2d(x1, cnn.randn(24, 20, 1, 1)):sum():backward()
  local m = nn.Sequential{ nn.Conv2d(3, 8, 3, {padding = 1}), nn.BatchNorm2d(8), nn.ReLU(), nn.AvgPool2d(3, {stride = 1, padding = 1}) }
  m:eval()
  cnn.no_grad(function() return m(cnn.randn(2, 3, 12, 12)) end)
  m:train()
  local xb = cnn.randn({4, 3, 60, 60}, {requires_grad = true})
  local loss = F.max_pool2d(m(xb), 3, {stride = 2}):sum()
  loss:backward()
  local opt = cnn.optim.SGD(m, {lr = 0.1, momentum = 0.9})
  opt:step()
  local big = {}
  for k = 1, 3 do big[k] = cnn.zeros(2 ^ 18 * k) end
  big = nil
  collectgarbage()
  for k = 1, 3 do local t <close> = cnn.zeros(2 ^ 18 * (k + 4)) end
  cnn.set_num_threads(was)
end
-- sorting and gathering (radix and comparison sorts, int64 indices) with their backward passes
do
  local s = cnn.randn({300, 7}, {requires_grad = true})
  local vals, idx = s:sort(1)
  local tv = s:topk(3, 2);
  (vals:sum() + tv:sum() + s:gather(1, idx:narrow(1, 1, 2)):sum() + s:cumprod(2):sum() + s:flip({1}):roll(2, 1):sum()):backward()
  local big = cnn.randn(5000):sort()
  local u = cnn.unique(cnn.randint(0, 9, {50}))
  local nz = s:detach():gt(0):nonzero()
  local ss = cnn.searchsorted(big, cnn.randn(10))
end
-- images in memory: PNG and JPEG encoders and decoders (libpng, libjpeg-turbo)
do
  local img = cnn.rand(3, 40, 30)
  local p = cnn.image.decode(cnn.image.encode(img))
  local j = cnn.image.decode(cnn.image.encode(img, "jpeg"), {max_side = 10})
  assert(not pcall(cnn.image.decode, cnn.image.encode(img, "jpeg"):sub(1, 200)))
  assert(not pcall(cnn.image.decode, "not an image"))
end
collectgarbage(); collectgarbage()
a, b, c, v, i, x, y, _ = nil, nil, nil, nil, nil, nil, nil, nil
collectgarbage(); collectgarbage()
assert(cnn.memory() == 0, "leaked " .. cnn.memory() .. " tensor bytes")
print("valgrind smoke: ok")
