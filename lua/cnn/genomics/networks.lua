-- The networks of Perez-Enciso & Zingaretti's guide (Genes 2019) for genomic prediction, and
-- their training loop. MLP: Dense(64, relu) -> Dense(32, softplus) -> Dense(1). CNN: Conv1d(32
-- filters, kernel 3, stride 3) -> MaxPool1d(2) -> the same MLP. Inputs are the markers
-- standardised with the training individuals' means and sds, decoded from the 2-bit codes one
-- mini-batch at a time; the trait is standardised for training and mapped back for prediction.
-- MSE, Adam or SGD, weight decay, early stopping on a validation part of the training
-- individuals (the best epoch's weights are kept). Spec: genomics_gp_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local class = require "cnn._class"
local B = require "cnn.genomics.bedmatrix"
local nn, F = cnn.nn, cnn.F
local M = {}

local function head(inputs)
  return { nn.Linear(inputs, 64), nn.ReLU(), nn.Linear(64, 32), nn.Softplus(), nn.Linear(32, 1) }
end

-- mlp(p): (B, p) -> (B, 1)
function M.mlp(p)
  p = A.int("cnn.genomics.mlp", 1, "p", p, 1)
  return nn.Sequential(head(p))
end

local ConvNet = nn.Module:extend("cnn.genomics.ConvNet")
function ConvNet:__init(p, filters)
  self.p = p
  self.conv = nn.Conv1d(1, filters, 3, { stride = 3 })
  self.pool = nn.MaxPool1d(2)
  local len = ((p - 3) // 3 + 1) // 2
  self.flat = nn.Flatten()
  self.mlp = nn.Sequential(head(filters * len))
end
function ConvNet:forward(x)
  local b = x:size(1)
  return self.mlp(self.flat(self.pool(self.conv(x:view(b, 1, self.p)))))
end

-- convnet(p [, filters = 32]): (B, p) -> (B, 1); p >= 6 (one pooled position)
function M.convnet(p, filters)
  local fn = "cnn.genomics.convnet"
  p = A.int(fn, 1, "p", p, 6)
  filters = A.int(fn, 2, "filters", filters, 1, 32)
  return ConvNet(p, filters)
end

local Fitted = class("cnn.genomics.FittedNetwork")

local function batches(src, rows, cols, center, scale)
  return function(ix) return src:batch(ix, { cols = cols, center = center, scale = scale, dtype = "float32" }) end
end

-- fit_network(model, X, y, {rows=, cols=, epochs=100, batch_size=32, lr=1e-3, optimizer="adam",
--   momentum=0.9, weight_decay=0, valid=0.1, patience=10, seed=1, progress=true, desc=})
function M.fit_network(model, X, y, opts)
  local fn = "cnn.genomics.fit_network"
  if type(model) ~= "table" or type(model.parameters) ~= "function" then A.fail(fn, 1, "model", "an nn.Module", model) end
  local src = B.source(fn, 2, X)
  opts = A.opts(fn, 4, opts, { "rows", "cols", "epochs", "batch_size", "lr", "optimizer", "momentum", "weight_decay",
                               "valid", "patience", "seed", "progress", "desc" })
  local rows = B.index(fn, 4, "rows", opts.rows, src.n) or cnn.arange(1, src.n + 1):long()
  local cols = B.index(fn, 4, "cols", opts.cols, src.p)
  local epochs = A.int(fn, 4, "epochs", opts.epochs, 1, 100)
  local bs = A.int(fn, 4, "batch_size", opts.batch_size, 1, 32)
  local lr = A.finite(fn, 4, "lr", opts.lr, 1e-3, 0)
  local optname = A.str(fn, 4, "optimizer", opts.optimizer, "adam")
  if optname ~= "adam" and optname ~= "sgd" then A.fail(fn, 4, "optimizer", '"adam" or "sgd"', optname) end
  local wd = A.finite(fn, 4, "weight_decay", opts.weight_decay, 0, 0)
  local mom = A.finite(fn, 4, "momentum", opts.momentum, 0.9, 0, 1)
  local vfrac = A.finite(fn, 4, "valid", opts.valid, 0.1, 0, 0.9)
  local patience = A.int(fn, 4, "patience", opts.patience, 1, 10)
  local seed = A.int(fn, 4, "seed", opts.seed, 0, 1)
  local show = A.bool(fn, 4, "progress", opts.progress, true)
  local desc = opts.desc ~= nil and A.str(fn, 4, "desc", opts.desc) or "train"
  if type(y) == "table" and not cnn.is_tensor(y) then y = A.numbers(fn, 3, "y", y) end
  A.tensor(fn, 3, "y", y)
  y = y:reshape(y:numel()):double()
  if y:numel() ~= src.n then A.fail(fn, 3, "y", ("%d values (one per sample)"):format(src.n), y) end
  local yt = y:index_select(1, rows)
  if yt:ne(yt):sum():item() > 0 then A.error(fn .. ": argument 3 (y): a training sample's phenotype is missing (NaN)") end
  cnn.manual_seed(seed)

  -- training / validation split of the training rows
  local n = rows:numel()
  local nv = vfrac > 0 and math.max(1, math.floor(n * vfrac + 0.5)) or 0
  if n - nv < 1 then A.error(fn .. ": too few training samples for a validation part") end
  local perm = rows:index_select(1, cnn.randperm(n))
  local fit_rows = perm:narrow(1, 1, n - nv)
  local val_rows = nv > 0 and perm:narrow(1, n - nv + 1, nv) or nil

  -- standardisation from the fitting rows only
  local st = src:stats(fit_rows)
  local mean, sd = st.mean, st.sd
  if cols then mean, sd = mean:index_select(1, cols), sd:index_select(1, cols) end
  mean = mean:masked_fill(mean:ne(mean), 0):contiguous()
  local scale = sd:gt(0):double() / sd:clamp(1e-12)
  local yf = y:index_select(1, fit_rows)
  local ym, ysd = yf:mean():item(), yf:numel() > 1 and yf:std():item() or 1
  if not (ysd > 0) then ysd = 1 end
  local make = batches(src, nil, cols, mean, scale)
  local ystd = ((y:masked_fill(y:ne(y), ym) - ym) / ysd):float()

  local opt
  if optname == "adam" then opt = cnn.optim.Adam(model, { lr = lr, weight_decay = wd })
  else opt = cnn.optim.SGD(model, { lr = lr, momentum = mom, weight_decay = wd }) end

  local function predict_rows(ix)
    model:eval()
    local out = {}
    cnn.no_grad(function()
      for i0 = 1, ix:numel(), 256 do
        local b = ix:narrow(1, i0, math.min(256, ix:numel() - i0 + 1))
        out[#out + 1] = model(make(b)):view(b:numel()):double()
      end
    end)
    return cnn.cat(out, 1)
  end

  local history, best, best_state, wait, best_epoch = { train = {}, valid = {} }, math.huge, nil, 0, 0
  local nb = (fit_rows:numel() + bs - 1) // bs
  local bar = show and cnn.progress.bar(epochs * nb, { desc = desc }) or nil
  for ep = 1, epochs do
    model:train()
    local order = fit_rows:index_select(1, cnn.randperm(fit_rows:numel()))
    local tot = 0
    for i0 = 1, order:numel(), bs do
      local b = order:narrow(1, i0, math.min(bs, order:numel() - i0 + 1))
      local xb, yb = make(b), ystd:index_select(1, b)
      opt:zero_grad()
      local loss = F.mse_loss(model(xb):view(b:numel()), yb)
      loss:backward()
      opt:step()
      tot = tot + loss:item() * b:numel()
      if bar then bar:update(1, { epoch = ep, loss = loss:item() }) end
    end
    history.train[ep] = tot / order:numel()
    local vloss = history.train[ep]
    if val_rows then
      local pv = predict_rows(val_rows)
      local e = pv - ystd:index_select(1, val_rows):double()
      vloss = (e * e):mean():item()
      history.valid[ep] = vloss
    end
    if vloss < best then
      best, best_epoch, wait = vloss, ep, 0
      best_state = {}
      for k, v in pairs(model:state_dict()) do best_state[k] = v:clone() end
    else
      wait = wait + 1
      if val_rows and wait >= patience then
        if bar then bar:update((epochs - ep) * nb) end
        break
      end
    end
  end
  if bar then bar:close() end
  if best_state then model:load_state_dict(best_state) end
  model:eval()
  return setmetatable({ model = model, history = history, best_epoch = best_epoch, _src_p = src.p, _cols = cols,
                        _mean = mean, _scale = scale, _ym = ym, _ysd = ysd }, Fitted)
end

-- f:predict(X [, rows]) -> float64 predictions on the trait's scale
function Fitted:predict(X, rows)
  local fn = "cnn.genomics.FittedNetwork:predict"
  local src = B.source(fn, 1, X)
  if src.p ~= self._src_p then A.fail(fn, 1, "X", ("%d markers, as in training"):format(self._src_p), ("%d markers"):format(src.p)) end
  rows = B.index(fn, 2, "rows", rows, src.n) or cnn.arange(1, src.n + 1):long()
  local out = {}
  self.model:eval()
  cnn.no_grad(function()
    for i0 = 1, rows:numel(), 256 do
      local b = rows:narrow(1, i0, math.min(256, rows:numel() - i0 + 1))
      local x = src:batch(b, { cols = self._cols, center = self._mean, scale = self._scale, dtype = "float32" })
      out[#out + 1] = self.model(x):view(b:numel()):double()
    end
  end)
  return cnn.cat(out, 1) * self._ysd + self._ym
end

return M
