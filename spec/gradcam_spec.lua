-- Grad-CAM (Selvaraju et al. 2017) of the zoo's resnet18 at its last block, taken the PyTorch
-- way: a forward hook keeps the block's output and calls retain_grad on it, backward from the
-- class scores fills its .grad. Checked against the same quantities computed independently:
-- the forward split by hand at that block (the block's output made a leaf), and the closed form
-- of the gradient behind it (average pooling then fc: d score_k / dA[c,i,j] = fc.weight[k,c] / (h w)).
local cnn = require "cnn"
local H = require "helpers"

describe("Grad-CAM with a forward hook and retain_grad", function()
  it("matches the forward split by hand and the closed-form gradient (resnet18, float64)", function()
    cnn.manual_seed(11)
    local model = cnn.models.resnet18():double():eval()
    local x = cnn.randn({2, 3, 64, 64}, "float64")
    local classes = {3, 998}
    local onehot = {}
    for n = 1, 2 do
      onehot[n] = {}
      for k = 1, 1000 do onehot[n][k] = k == classes[n] and 1 or 0 end
    end
    onehot = cnn.tensor(onehot, "float64")

    -- 1. the hook: the last block's output A, kept with its gradient
    local block = model.layer4[2]
    local A, calls = nil, 0
    local handle = block:register_forward_hook(function(_, _, out)
      calls = calls + 1
      A = out:retain_grad()
    end)
    local logits = model(x)
    assert.are.equal(1, calls)
    assert.are.same({2, 512, 2, 2}, A:size())
    ;(logits * onehot):sum():backward()
    local dA = A.grad
    assert.is_not_nil(dA)
    local w = dA:mean(4):mean(3)                                   -- [2,512]: channel weights
    local cam = (w:view(2, 512, 1, 1) * A:detach()):sum(2):relu()  -- [2,2,2]
    handle:remove()

    -- 2. independently: the forward split at the block, its output a leaf
    local m = model
    local y = m.maxpool(m.bn1(m.conv1(x)):relu())
    y = m.layer4[1](m.layer3(m.layer2(m.layer1(y))))
    local A2 = m.layer4[2](y):detach():requires_grad(true)
    assert.are.equal(1, calls)                                     -- the hook is gone
    H.close(A2, A:detach(), 0)
    local logits2 = m.fc(m.avgpool(A2):flatten(2))
    H.close(logits2, logits:detach(), 0)
    ;(logits2 * onehot):sum():backward()
    H.close(dA, A2.grad, 1e-15)

    -- 3. the closed form behind the block: dscore_k / dA[n,c,i,j] = fc.weight[k,c] / 4
    local wk = m.fc.weight:detach():index_select(1, classes) / 4   -- [2,512]
    H.close(w, wk, 1e-15)
    H.close(dA, wk:view(2, 512, 1, 1):expand(2, 512, 2, 2), 1e-15)
    local want = (wk:view(2, 512, 1, 1) * A2:detach()):sum(2):relu()
    H.close(cam, want, 1e-12)
    assert.is_true(want:max():item() > 0)                          -- a map that is not all zero
  end)
end)
