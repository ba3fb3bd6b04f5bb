-- LSTM and GRU (multi-layer, bidirectional, batch_first, dropout between layers) and the single
-- steps LSTMCell and GRUCell, as PyTorch: the same parameter names (weight_ih_l0, weight_hh_l0,
-- bias_ih_l0, bias_hh_l0, "_reverse" for the backward direction), layouts, gate order (LSTM i, f,
-- g, o; GRU r, z, n), initialisation and outputs, so converted weights load. Each layer and
-- direction projects the whole sequence with one linear, then runs the C cell (cnn.lstm_cell,
-- cnn.gru_cell: the recurrent GEMM of all gates and the gates in one call) once per time step.
-- Spec: spec/rnn_spec.lua, spec/parity (gen_rnn.py).
local cnn = require "cnn"
local F = require "cnn.nn.functional"
local A = require "cnn.nn.argcheck"
local Module = require "cnn.nn.module"
local init = require "cnn.nn.weight_init"

local M = {}

local OPTS = { num_layers = true, bias = true, batch_first = true, dropout = true, bidirectional = true }
local GATES = { LSTM = 4, GRU = 3 }

local function uniform_param(k, ...)
  local t = A.call(cnn.zeros, { ... }, { requires_grad = true })
  init.uniform_(t, -k, k)
  return t
end

-- refuses a layer of more than 2^40 parameters before allocating any (counted in floats, so
-- that math.maxinteger sizes neither wrap nor loop for ever)
local MAX_PARAMS = 2.0 ^ 40
local function check_count(fn, i, name, v, count)
  if count > MAX_PARAMS then A.fail(fn, i, name, "a size giving at most 2^40 parameters", v) end
end

for kind, G in pairs(GATES) do
  local cls = Module:extend("nn." .. kind)
  local fn = "cnn.nn." .. kind
  local fwd = fn .. ".forward"

  -- (input_size, hidden_size [, {num_layers = 1, bias = true, batch_first = false, dropout = 0,
  -- bidirectional = false}])
  function cls:__init(input_size, hidden_size, opts)
    self.input_size = A.int(fn, 1, "input_size", input_size, 1)
    self.hidden_size = A.int(fn, 2, "hidden_size", hidden_size, 1)
    opts = A.opts(fn, 3, opts, OPTS)
    self.num_layers = A.int(fn, 3, "num_layers", opts.num_layers, 1, 1)
    self.bias = A.bool(fn, 3, "bias", opts.bias, true)
    self.batch_first = A.bool(fn, 3, "batch_first", opts.batch_first, false)
    self.dropout = A.num(fn, 3, "dropout", opts.dropout, 0, 0, 1)
    self.bidirectional = A.bool(fn, 3, "bidirectional", opts.bidirectional, false)
    local H, D = self.hidden_size, self.bidirectional and 2 or 1
    local Hf, If = H + 0.0, self.input_size + 0.0
    check_count(fn, 1, "input_size", input_size, D * G * Hf * (If + Hf + 2))
    check_count(fn, 2, "hidden_size", hidden_size, D * G * Hf * (If + Hf + 2))
    check_count(fn, 3, "num_layers", self.num_layers, (self.num_layers + 0.0) * D * G * Hf * (D * Hf + Hf + 2))
    local k = 1 / math.sqrt(H)
    for l = 0, self.num_layers - 1 do
      for d = 1, D do
        local sfx = ("_l%d%s"):format(l, d == 2 and "_reverse" or "")
        local inp = l == 0 and self.input_size or H * D
        self["weight_ih" .. sfx] = uniform_param(k, G * H, inp)
        self["weight_hh" .. sfx] = uniform_param(k, G * H, H)
        if self.bias then
          self["bias_ih" .. sfx] = uniform_param(k, G * H)
          self["bias_hh" .. sfx] = uniform_param(k, G * H)
        end
      end
    end
  end

  -- the initial state argument: a tensor (num_layers * D, N, H), or (num_layers * D, H) unbatched
  local function check_state(self, i, name, t, N, unbatched, dtype)
    local want = self.num_layers * (self.bidirectional and 2 or 1)
    local shape = unbatched and { want, self.hidden_size } or { want, N, self.hidden_size }
    local s = "[" .. table.concat(shape, ",") .. "]"
    A.tensor(fwd, i, name, t)
    local sz = t:size()
    local ok = #sz == #shape
    for j = 1, #shape do ok = ok and sz[j] == shape[j] end
    if not ok then A.fail(fwd, i, name, "shape " .. s, t) end
    if t:dtype() ~= dtype then A.fail(fwd, i, name, "dtype " .. dtype .. " (the input's)", t) end
    if unbatched then t = t:unsqueeze(2) end
    return t
  end

  -- LSTM: forward(x [, {h0, c0}]) -> output, {h_n, c_n}; GRU: forward(x [, h0]) -> output, h_n.
  -- x (L,N,input_size), (N,L,input_size) when batch_first, or (L,input_size) unbatched; output
  -- (L,N,D*hidden_size) (or (N,L,...), or (L,...)); states (num_layers*D,N,hidden_size)
  function cls:forward(x, state)
    A.tensor(fwd, 1, "input", x)
    local nd = #x:size()
    if nd ~= 2 and nd ~= 3 then
      A.fail(fwd, 1, "input", ("(L,N,%d), (N,L,%d) when batch_first, or (L,%d) unbatched"):format(
        self.input_size, self.input_size, self.input_size), x)
    end
    local sz = x:size()
    if sz[nd] ~= self.input_size then
      A.fail(fwd, 1, "input", ("a last dimension of %d (input_size)"):format(self.input_size), x)
    end
    local unbatched = nd == 2
    if unbatched then x = x:unsqueeze(2)
    elseif self.batch_first then x = x:transpose(1, 2) end
    local Lsz, N = x:size(1), x:size(2)
    if Lsz < 1 then A.fail(fwd, 1, "input", "a sequence of at least one step", x) end
    local H, D, dtype = self.hidden_size, self.bidirectional and 2 or 1, x:dtype()
    local h0, c0
    if state ~= nil then
      if kind == "LSTM" then
        if type(state) ~= "table" or cnn.is_tensor(state) then A.fail(fwd, 2, "state", "a table {h0, c0}", state) end
        h0 = check_state(self, 2, "state[1] (h0)", rawget(state, 1), N, unbatched, dtype)
        c0 = check_state(self, 2, "state[2] (c0)", rawget(state, 2), N, unbatched, dtype)
      else
        h0 = check_state(self, 2, "h0", state, N, unbatched, dtype)
      end
    end
    return A.call_as(fwd, function()
      local zeros
      if h0 == nil or (kind == "LSTM" and c0 == nil) then zeros = cnn.zeros({ N, H }, { dtype = dtype }) end
      local hn, cn, inp = {}, {}, x
      for l = 0, self.num_layers - 1 do
        if l > 0 and self.dropout > 0 and self.training then inp = F.dropout(inp, self.dropout, true) end
        local outs = {}
        for d = 1, D do
          local sfx = ("_l%d%s"):format(l, d == 2 and "_reverse" or "")
          local idx = l * D + d
          local w_hh, b_hh = self["weight_hh" .. sfx], self["bias_hh" .. sfx]
          local xg = F.linear(inp, self["weight_ih" .. sfx], self["bias_ih" .. sfx])   -- (L,N,G*H)
          local h = h0 and h0:select(1, idx) or zeros
          local c = kind == "LSTM" and (c0 and c0:select(1, idx) or zeros) or nil
          local steps = {}
          local t0, t1, dt = 1, Lsz, 1
          if d == 2 then t0, t1, dt = Lsz, 1, -1 end
          for t = t0, t1, dt do
            if kind == "LSTM" then
              local hc = cnn.lstm_cell(xg:select(1, t), h, c, w_hh, b_hh)
              h, c = hc:narrow(2, 1, H), hc:narrow(2, H + 1, H)
            else
              h = cnn.gru_cell(xg:select(1, t), h, w_hh, b_hh)
            end
            steps[t] = h
          end
          outs[d] = cnn.stack(steps, 1)
          hn[idx], cn[idx] = h, c
        end
        inp = D == 2 and cnn.cat(outs, 3) or outs[1]
      end
      local out = inp
      local h_n, c_n = cnn.stack(hn, 1), kind == "LSTM" and cnn.stack(cn, 1) or nil
      if unbatched then
        out, h_n = out:squeeze(2), h_n:squeeze(2)
        if c_n then c_n = c_n:squeeze(2) end
      elseif self.batch_first then
        out = out:transpose(1, 2)
      end
      if kind == "LSTM" then return out, { h_n, c_n } end
      return out, h_n
    end)
  end

  function cls:extra_repr()
    local s = ("%d, %d"):format(self.input_size, self.hidden_size)
    if self.num_layers ~= 1 then s = s .. ", num_layers = " .. self.num_layers end
    if not self.bias then s = s .. ", bias = false" end
    if self.batch_first then s = s .. ", batch_first = true" end
    if self.dropout ~= 0 then s = s .. ", dropout = " .. self.dropout end
    if self.bidirectional then s = s .. ", bidirectional = true" end
    return s
  end
  M[kind] = cls
end

-- LSTMCell and GRUCell(input_size, hidden_size [, {bias = true}]): one time step, parameters
-- weight_ih, weight_hh, bias_ih, bias_hh. LSTMCell: forward(x [, {h, c}]) -> h', c';
-- GRUCell: forward(x [, h]) -> h'. x (N,input_size) or (input_size) unbatched.
for kind, G in pairs(GATES) do
  local cls = Module:extend("nn." .. kind .. "Cell")
  local fn = "cnn.nn." .. kind .. "Cell"
  local fwd = fn .. ".forward"
  function cls:__init(input_size, hidden_size, opts)
    self.input_size = A.int(fn, 1, "input_size", input_size, 1)
    self.hidden_size = A.int(fn, 2, "hidden_size", hidden_size, 1)
    opts = A.opts(fn, 3, opts, { bias = true })
    self.bias = A.bool(fn, 3, "bias", opts.bias, true)
    local H, k = self.hidden_size, 1 / math.sqrt(self.hidden_size)
    check_count(fn, 2, "hidden_size", hidden_size, G * (H + 0.0) * (self.input_size + 0.0 + H + 2))
    self.weight_ih = uniform_param(k, G * H, self.input_size)
    self.weight_hh = uniform_param(k, G * H, H)
    if self.bias then
      self.bias_ih = uniform_param(k, G * H)
      self.bias_hh = uniform_param(k, G * H)
    end
  end

  local function check_state(self, name, t, N, unbatched, dtype)
    A.tensor(fwd, 2, name, t)
    local want = unbatched and { self.hidden_size } or { N, self.hidden_size }
    local sz, ok = t:size(), true
    ok = #sz == #want
    for j = 1, #want do ok = ok and sz[j] == want[j] end
    if not ok then A.fail(fwd, 2, name, "shape [" .. table.concat(want, ",") .. "]", t) end
    if t:dtype() ~= dtype then A.fail(fwd, 2, name, "dtype " .. dtype .. " (the input's)", t) end
    return unbatched and t:unsqueeze(1) or t
  end

  function cls:forward(x, state)
    A.tensor(fwd, 1, "input", x)
    local sz = x:size()
    if (#sz ~= 1 and #sz ~= 2) or sz[#sz] ~= self.input_size then
      A.fail(fwd, 1, "input", ("(N,%d) or (%d) unbatched"):format(self.input_size, self.input_size), x)
    end
    local unbatched = #sz == 1
    if unbatched then x = x:unsqueeze(1) end
    local N, H, dtype = x:size(1), self.hidden_size, x:dtype()
    local h, c
    if state ~= nil then
      if kind == "LSTM" then
        if type(state) ~= "table" or cnn.is_tensor(state) then A.fail(fwd, 2, "state", "a table {h, c}", state) end
        h = check_state(self, "state[1] (h)", rawget(state, 1), N, unbatched, dtype)
        c = check_state(self, "state[2] (c)", rawget(state, 2), N, unbatched, dtype)
      else
        h = check_state(self, "h", state, N, unbatched, dtype)
      end
    end
    return A.call_as(fwd, function()
      h = h or cnn.zeros({ N, H }, { dtype = dtype })
      local xg = F.linear(x, self.weight_ih, self.bias_ih)
      if kind == "LSTM" then
        c = c or cnn.zeros({ N, H }, { dtype = dtype })
        local hc = cnn.lstm_cell(xg, h, c, self.weight_hh, self.bias_hh)
        h, c = hc:narrow(2, 1, H), hc:narrow(2, H + 1, H)
        if unbatched then return h:squeeze(1), c:squeeze(1) end
        return h, c
      end
      h = cnn.gru_cell(xg, h, self.weight_hh, self.bias_hh)
      if unbatched then return h:squeeze(1) end
      return h
    end)
  end
  function cls:extra_repr()
    return ("%d, %d%s"):format(self.input_size, self.hidden_size, self.bias and "" or ", bias = false")
  end
  M[kind .. "Cell"] = cls
end

return M
