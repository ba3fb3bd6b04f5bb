-- nn.LSTM, nn.GRU, nn.LSTMCell, nn.GRUCell and their C cells (cnn.F.lstm_cell, cnn.F.gru_cell):
-- gradchecks in float64, PyTorch parity (spec/parity/fixtures/rnn.lua, from gen_rnn.py), errors,
-- dropout between layers, leaks.
local cnn = require "cnn"
local F = cnn.F
local nn = cnn.nn
local H = require "helpers"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local CASES = dofile(here .. "/parity/fixtures/rnn.lua")

local f64 = { dtype = "float64", requires_grad = true }

local function from(fx, dtype, grad)
  local t = cnn.tensor(fx.data, "float64"):view(fx.shape)
  return cnn.tensor(t, { dtype = dtype, requires_grad = grad or false })
end

local function check(what, got, want, tol)
  local w = cnn.tensor(want.data, "float64"):view(want.shape)
  assert(table.concat(got:size(), ",") == table.concat(want.shape, ","),
    ("%s: shape [%s], expected [%s]"):format(what, table.concat(got:size(), ","), table.concat(want.shape, ",")))
  local d = (got:double() - w):abs():max():item()
  local scale = math.max(1, w:abs():max():item())
  assert(d <= tol * scale, ("%s: differs from PyTorch by %g (tolerance %g)"):format(what, d, tol * scale))
end

describe("lstm_cell and gru_cell", function()
  it("gradcheck in float64, with and without bias_hh", function()
    cnn.manual_seed(3)
    local N, Hd = 3, 4
    local h, c = cnn.randn({N, Hd}, f64), cnn.randn({N, Hd}, f64)
    local xg4, w4, b4 = cnn.randn({N, 4 * Hd}, f64), cnn.randn({4 * Hd, Hd}, f64), cnn.randn({4 * Hd}, f64)
    H.gradcheck(function(a, b_, c_, d, e) return F.lstm_cell(a, b_, c_, d, e) end, {xg4, h, c, w4, b4})
    H.gradcheck(function(a, b_, c_, d) return F.lstm_cell(a, b_, c_, d) end, {xg4, h, c, w4})
    local xg3, w3, b3 = cnn.randn({N, 3 * Hd}, f64), cnn.randn({3 * Hd, Hd}, f64), cnn.randn({3 * Hd}, f64)
    H.gradcheck(function(a, b_, c_, d) return F.gru_cell(a, b_, c_, d) end, {xg3, h, w3, b3})
    H.gradcheck(function(a, b_, c_) return F.gru_cell(a, b_, c_) end, {xg3, h, w3})
  end)

  it("computes PyTorch's gate equations (LSTM i, f, g, o; GRU r, z, n with r applied to W_hn h + b_hn)", function()
    cnn.manual_seed(4)
    local N, Hd = 2, 3
    local xg, h, c = cnn.randn({N, 4 * Hd}, "float64"), cnn.randn({N, Hd}, "float64"), cnn.randn({N, Hd}, "float64")
    local w, b = cnn.randn({4 * Hd, Hd}, "float64"), cnn.randn({4 * Hd}, "float64")
    local g = xg + F.linear(h, w, b)
    local i, f, gg, o = g:narrow(2, 1, Hd):sigmoid(), g:narrow(2, Hd + 1, Hd):sigmoid(),
      g:narrow(2, 2 * Hd + 1, Hd):tanh(), g:narrow(2, 3 * Hd + 1, Hd):sigmoid()
    local c1 = f * c + i * gg
    local hc = F.lstm_cell(xg, h, c, w, b)
    H.close(hc:narrow(2, Hd + 1, Hd), c1, 1e-12)
    H.close(hc:narrow(2, 1, Hd), o * c1:tanh(), 1e-12)
    local xg3, w3, b3 = cnn.randn({N, 3 * Hd}, "float64"), cnn.randn({3 * Hd, Hd}, "float64"), cnn.randn({3 * Hd}, "float64")
    local hg = F.linear(h, w3, b3)
    local r = (xg3:narrow(2, 1, Hd) + hg:narrow(2, 1, Hd)):sigmoid()
    local z = (xg3:narrow(2, Hd + 1, Hd) + hg:narrow(2, Hd + 1, Hd)):sigmoid()
    local n = (xg3:narrow(2, 2 * Hd + 1, Hd) + r * hg:narrow(2, 2 * Hd + 1, Hd)):tanh()
    H.close(F.gru_cell(xg3, h, w3, b3), (1 - z) * n + z * h, 1e-12)
  end)

  it("reports bad shapes and dtypes naming the cell", function()
    local h = cnn.zeros({2, 3})
    H.errors(function() F.lstm_cell(cnn.zeros({2, 11}), h, h, cnn.zeros({12, 3})) end, "cnn.lstm_cell: expected input gates of shape [2,12]")
    H.errors(function() F.gru_cell(cnn.zeros({2, 9}), h, cnn.zeros({12, 3})) end, "cnn.gru_cell: expected weight_hh of shape [9,3]")
    H.errors(function() F.gru_cell(cnn.zeros({2, 9}), h, cnn.zeros({9, 3}), cnn.zeros({8})) end, "expected bias_hh of shape [9]")
    H.errors(function() F.lstm_cell(cnn.zeros({2, 12}), h, cnn.zeros({2, 4}), cnn.zeros({12, 3})) end, "expected a cell state of shape [2,3]")
    H.errors(function() F.gru_cell(cnn.zeros({2, 9}, {dtype = "float64"}), h, cnn.zeros({9, 3})) end, "one dtype")
    H.errors(function() F.gru_cell(cnn.zeros({2, 9}), nil, cnn.zeros({9, 3})) end, "argument 2 (h)")
  end)
end)

describe("nn.LSTM and nn.GRU", function()
  it("have PyTorch's parameter names, shapes and initialisation bounds", function()
    local m = nn.LSTM(5, 4, {num_layers = 2, bidirectional = true})
    local names = {}
    for n, p in m:named_parameters() do
      names[#names + 1] = n .. "=" .. table.concat(p:size(), "x")
      assert(p:abs():max():item() <= 0.5)
    end
    assert.are.equal("weight_ih_l0=16x5 weight_hh_l0=16x4 bias_ih_l0=16 bias_hh_l0=16 "
      .. "weight_ih_l0_reverse=16x5 weight_hh_l0_reverse=16x4 bias_ih_l0_reverse=16 bias_hh_l0_reverse=16 "
      .. "weight_ih_l1=16x8 weight_hh_l1=16x4 bias_ih_l1=16 bias_hh_l1=16 "
      .. "weight_ih_l1_reverse=16x8 weight_hh_l1_reverse=16x4 bias_ih_l1_reverse=16 bias_hh_l1_reverse=16",
      table.concat(names, " "))
    local g = nn.GRU(3, 2, {bias = false})
    local gn = {}
    for n in g:named_parameters() do gn[#gn + 1] = n end
    assert.are.equal("weight_ih_l0 weight_hh_l0", table.concat(gn, " "))
    assert.are.equal(6, g.weight_hh_l0:size(1))
  end)

  for _, fx in ipairs(CASES) do
    for _, dtype in ipairs({ "float64", "float32" }) do
      it(("matches PyTorch: %s (%s)"):format(fx.name, dtype), function()
        local tol = dtype == "float64" and 1e-10 or 2e-5
        local m = nn[fx.kind](fx.input_size, fx.hidden_size, fx.opts)
        if dtype == "float64" then m:double() end
        local sd = {}
        for n, p in pairs(fx.params) do sd[n] = from(p, dtype) end
        m:load_state_dict(sd)
        local x = from(fx.input, dtype, true)
        local h0 = fx.h0 and from(fx.h0, dtype, true)
        local c0 = fx.c0 and from(fx.c0, dtype, true)
        local state = fx.kind == "LSTM" and h0 and {h0, c0} or h0
        local out, st = m(x, state)
        local h_n, c_n = st, nil
        if fx.kind == "LSTM" then h_n, c_n = st[1], st[2] end
        check("output", out, fx.output, tol)
        check("h_n", h_n, fx.h_n, tol)
        local loss = (out * from(fx.gout, dtype)):sum() + (h_n * from(fx.gh, dtype)):sum()
        if c_n then
          check("c_n", c_n, fx.c_n, tol)
          loss = loss + (c_n * from(fx.gc, dtype)):sum()
        end
        loss:backward()
        check("grad input", x.grad, fx.grads.input, tol)
        if h0 then check("grad h0", h0.grad, fx.grads.h0, tol) end
        if c0 then check("grad c0", c0.grad, fx.grads.c0, tol) end
        local params = {}
        for n, p in m:named_parameters() do params[n] = p end
        for _, n in ipairs(fx.param_names) do check("grad " .. n, params[n].grad, fx.grads[n], tol) end
      end)
    end
  end

  it("gradcheck of a 2-layer bidirectional LSTM and GRU in float64 (input, states, weights)", function()
    cnn.manual_seed(5)
    for _, kind in ipairs({ "LSTM", "GRU" }) do
      local m = nn[kind](3, 2, {num_layers = 2, bidirectional = true}):double()
      local x, h0, c0 = cnn.randn({4, 2, 3}, f64), cnn.randn({4, 2, 2}, f64), cnn.randn({4, 2, 2}, f64)
      local w1, w2 = m.weight_hh_l0_reverse, m.weight_ih_l1
      H.gradcheck(function(a, b, c, _, _)
        local out, st = m(a, kind == "LSTM" and {b, c} or b)
        local hn = kind == "LSTM" and st[1] or st
        return cnn.cat({out:flatten(), hn:flatten(), kind == "LSTM" and st[2]:flatten() or hn:flatten()}, 1)
      end, {x, h0, c0, w1, w2})
    end
  end)

  it("applies dropout between layers in training mode only", function()
    cnn.manual_seed(6)
    local m = nn.GRU(3, 4, {num_layers = 2, dropout = 0.5})
    local x = cnn.randn({5, 2, 3})
    local a = m(x)
    local b = m(x)
    assert(H.maxdiff(a, b) > 0, "training mode: dropout draws differ from call to call")
    m:eval()
    local c, d = m(x), m(x)
    assert.are.equal(0, H.maxdiff(c, d))
    local m1 = nn.GRU(3, 4, {num_layers = 2})
    m1:load_state_dict(m:state_dict())
    assert.are.equal(0, H.maxdiff(m1(x), c))
  end)

  it("takes batch_first and unbatched input consistently with the (L,N,H) layout", function()
    cnn.manual_seed(7)
    local m = nn.LSTM(3, 2, {bidirectional = true})
    local mb = nn.LSTM(3, 2, {bidirectional = true, batch_first = true})
    mb:load_state_dict(m:state_dict())
    local x = cnn.randn({5, 2, 3})
    local o1, s1 = m(x)
    local o2, s2 = mb(x:transpose(1, 2):contiguous())
    assert.are.equal(0, H.maxdiff(o1, o2:transpose(1, 2)))
    assert.are.equal(0, H.maxdiff(s1[1], s2[1]))
    local o3, s3 = m(x:select(2, 2))
    H.close(o3, o1:select(2, 2), 1e-6)
    H.close(s3[2], s1[2]:select(2, 2), 1e-6)
    assert.are.same({2, 2}, s3[2]:size())         -- (num_layers * 2, hidden_size)
  end)

  it("LSTMCell and GRUCell agree with one step of LSTM and GRU", function()
    cnn.manual_seed(8)
    local cell, layer = nn.LSTMCell(3, 2), nn.LSTM(3, 2)
    local function renamed(sd)
      local out = {}
      for k, v in pairs(sd) do out[k .. "_l0"] = v end
      return out
    end
    layer:load_state_dict(renamed(cell:state_dict()))
    local x, h, c = cnn.randn({4, 3}), cnn.randn({4, 2}), cnn.randn({4, 2})
    local h1, c1 = cell(x, {h, c})
    local _, st = layer(x:unsqueeze(1), {h:unsqueeze(1), c:unsqueeze(1)})
    H.close(h1, st[1]:squeeze(1), 1e-6)
    H.close(c1, st[2]:squeeze(1), 1e-6)
    local g, gl = nn.GRUCell(3, 2), nn.GRU(3, 2)
    gl:load_state_dict(renamed(g:state_dict()))
    local _, hn = gl(x:unsqueeze(1), h:unsqueeze(1))
    H.close(g(x, h), hn:squeeze(1), 1e-6)
    H.close(g(x:select(1, 1)), gl(x:narrow(1, 1, 1)):squeeze(1), 1e-6)  -- unbatched: (L = 1, input_size)
  end)

  it("raises argument errors at the user's call", function()
    H.errors(function() nn.LSTM(0, 2) end, "cnn.nn.LSTM: argument 1 (input_size): expected a positive integer, got 0")
    H.errors(function() nn.GRU(2, 2, {layers = 2}) end, "cnn.nn.GRU: argument 3 (options): unknown option 'layers' (expected batch_first, bias")
    H.errors(function() nn.GRU(2, 2, {dropout = 2}) end, "cnn.nn.GRU: argument 3 (dropout): expected a number in [0, 1], got 2")
    H.errors(function() nn.LSTM(3, 2, {num_layers = math.maxinteger}) end, "argument 3 (num_layers): expected a size giving at most 2^40 parameters")
    H.errors(function() nn.GRUCell(3, math.maxinteger) end, "argument 2 (hidden_size): expected a size giving at most 2^40 parameters")
    local m = nn.LSTM(3, 2, {num_layers = 2})
    H.errors(function() m(cnn.zeros({4, 2, 5})) end, "cnn.nn.LSTM.forward: argument 1 (input): expected a last dimension of 3 (input_size), got float32 [4,2,5]")
    H.errors(function() m(cnn.zeros({4, 2, 3}), cnn.zeros({2, 2, 2})) end, "argument 2 (state): expected a table {h0, c0}")
    H.errors(function() m(cnn.zeros({4, 2, 3}), {cnn.zeros({2, 2, 2}), cnn.zeros({1, 2, 2})}) end,
      "argument 2 (state[2] (c0)): expected shape [2,2,2], got float32 [1,2,2]")
    H.errors(function() nn.GRU(3, 2)(cnn.zeros({4, 2, 3}), cnn.zeros({1, 2, 2}, {dtype = "float64"})) end, "expected dtype float32")
    local ok, err = pcall(function() m(cnn.zeros({4, 3, 2, 3})) end)
    assert(not ok and err:match("^spec/rnn_spec%.lua:%d+: cnn%.nn%.LSTM%.forward"), err)
  end)

  it("leaks nothing", function()
    H.no_leak(function()
      local m = nn.LSTM(3, 2, {num_layers = 2, bidirectional = true, dropout = 0.3})
      local g = nn.GRUCell(3, 2)
      local x = cnn.randn({4, 2, 3}, {requires_grad = true})
      local out, st = m(x)
      ;(out:sum() + st[2]:sum() + g(x:select(1, 1)):sum()):backward()
      pcall(m, cnn.zeros({4, 2, 5}))
      pcall(F.lstm_cell, cnn.zeros({2, 7}), cnn.zeros({2, 2}), cnn.zeros({2, 2}), cnn.zeros({8, 2}))
      m, g, x, out, st = nil, nil, nil, nil, nil
    end)
  end)
end)
