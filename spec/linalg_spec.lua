-- cnn.linalg: solve, cholesky, cholesky_solve, inv, slogdet, eigh, svd, qr and lstsq on the LAPACK
-- inside OpenBLAS (csrc/op_linalg.c, op_linalg.inc; binding lua_linalg.c). Values are checked
-- against what defines them (A X = B, L L^T = A, Q orthogonal, ...) and numbers computed by hand
-- or by numpy once; PyTorch parity is in spec/parity/linalg_parity_spec.lua.
local cnn = require "cnn"
local H = require "helpers"
local linalg = cnn.linalg

local function mT(t) return t:transpose(-2, -1) end

-- a well-conditioned (..., n, n) matrix: random plus n on the diagonal
local function wellcond(dt, ...)
  local s = { ... }
  local n = s[#s]
  return cnn.randn(s, dt) + cnn.eye(n, n, dt) * n
end
-- a symmetric positive-definite (..., n, n) matrix
local function spd(dt, ...)
  local s = { ... }
  local n = s[#s]
  local x = cnn.randn(s, dt)
  return x:matmul(mT(x)) + cnn.eye(n, n, dt) * n
end

local A3 = { {4, 1, 2}, {1, 3, 0}, {2, 0, 5} }           -- symmetric positive-definite, det 43

describe("cnn.linalg", function()
  before_each(function() cnn.manual_seed(7) end)

  it("solve: A X = B for matrices, vectors, batches and broadcast batches, in both dtypes", function()
    for _, dt in ipairs({ "float64", "float32" }) do
      local tol = dt == "float64" and 1e-10 or 1e-4
      local A = cnn.tensor(A3, dt)
      local x = linalg.solve(A, cnn.tensor({1, 2, 3}, dt))
      H.close(x, { -13 / 43, 33 / 43, 31 / 43 }, tol)      -- by Cramer's rule
      local Ab = wellcond(dt, 2, 3, 4, 4)
      local B = cnn.randn({2, 3, 4, 5}, dt)
      local X = linalg.solve(Ab, B)
      assert.are.same({2, 3, 4, 5}, X:size())
      H.close(Ab:matmul(X), B, tol)
      local Bv = cnn.randn({2, 3, 4}, dt)                    -- A's shape without the last dim: vectors
      local Xv = linalg.solve(Ab, Bv)
      assert.are.same({2, 3, 4}, Xv:size())
      H.close(Ab:matmul(Xv:unsqueeze(-1)):squeeze(-1), Bv, tol)
      local Xb = linalg.solve(Ab, cnn.randn({4, 2}, dt))   -- B broadcast over A's batch
      assert.are.same({2, 3, 4, 2}, Xb:size())
      local A1 = wellcond(dt, 4, 4)                          -- A broadcast over B's batch
      local B1 = cnn.randn({3, 4, 2}, dt)
      H.close(A1:matmul(linalg.solve(A1, B1)), B1, tol)
      H.close(linalg.solve(mT(Ab), B), linalg.solve(mT(Ab):contiguous(), B), 0)   -- strided A
    end
  end)

  it("cholesky: L lower with L L^T = A; cholesky_solve solves with it", function()
    for _, dt in ipairs({ "float64", "float32" }) do
      local tol = dt == "float64" and 1e-10 or 1e-4
      local L = linalg.cholesky(cnn.tensor(A3, dt))
      H.close(L, { {2, 0, 0}, {0.5, math.sqrt(11) / 2, 0}, {1, -1 / math.sqrt(11), math.sqrt(43 / 11) } }, tol)
      local A = spd(dt, 3, 5, 5)
      L = linalg.cholesky(A)
      H.close(L:matmul(mT(L)), A, tol * 10)
      for _, lb in ipairs(L:totable()) do
        for i = 1, 5 do for j = i + 1, 5 do assert.are.equal(0, lb[i][j]) end end
      end
      local B = cnn.randn({3, 5, 2}, dt)
      local X = linalg.cholesky_solve(B, L)
      H.close(A:matmul(X), B, tol * 10)
      H.close(X, linalg.solve(A, B), tol * 10)
    end
  end)

  it("inv: A A^-1 = I, batched", function()
    for _, dt in ipairs({ "float64", "float32" }) do
      local tol = dt == "float64" and 1e-10 or 1e-4
      local A = wellcond(dt, 2, 4, 4)
      local Y = linalg.inv(A)
      H.close(A:matmul(Y), cnn.eye(4, 4, dt):expand(2, 4, 4), tol)
      H.close(linalg.inv(cnn.tensor(A3, dt)), { {15 / 43, -5 / 43, -6 / 43}, {-5 / 43, 16 / 43, 2 / 43},
                                                {-6 / 43, 2 / 43, 11 / 43} }, tol)
    end
  end)

  it("slogdet: sign and log|det|, a singular matrix gives sign 0 and -inf", function()
    for _, dt in ipairs({ "float64", "float32" }) do
      local tol = dt == "float64" and 1e-12 or 1e-5
      local s, la = linalg.slogdet(cnn.tensor(A3, dt))
      assert.are.equal(1, s:item())
      assert.is_true(math.abs(la:item() - math.log(43)) < tol)
      -- det [[0,1],[2,3]] = -2; a batch with a row swap and a negative pivot
      s, la = linalg.slogdet(cnn.tensor({ { {0, 1}, {2, 3} }, { {-2, 0}, {0, 3} }, { {1, 2}, {2, 4} } }, dt))
      assert.are.same({ -1, -1, 0 }, s:totable())
      local v = la:totable()
      assert.is_true(math.abs(v[1] - math.log(2)) < tol and math.abs(v[2] - math.log(6)) < tol)
      assert.are.equal(-math.huge, v[3])
    end
  end)

  it("eigh: ascending eigenvalues, orthonormal eigenvectors, A V = V diag(w)", function()
    for _, dt in ipairs({ "float64", "float32" }) do
      local tol = dt == "float64" and 1e-10 or 1e-4
      local w = linalg.eigh(cnn.tensor({ {2, 1}, {1, 2} }, dt))
      H.close(w, {1, 3}, tol)
      local A = spd(dt, 2, 5, 5)
      local V
      w, V = linalg.eigh(A)
      assert.are.same({2, 5}, w:size())
      assert.are.same({2, 5, 5}, V:size())
      for b = 1, 2 do
        local wb = w:select(1, b):totable()
        for i = 2, 5 do assert.is_true(wb[i] >= wb[i - 1]) end
      end
      H.close(mT(V):matmul(V), cnn.eye(5, 5, dt):expand(2, 5, 5), tol)
      H.close(A:matmul(V), V * w:unsqueeze(-2), tol * 100)
      -- only the lower triangle is read, as PyTorch's default UPLO = 'L'
      local lower = cnn.tensor({ {2, 99}, {1, 2} }, dt)
      H.close(linalg.eigh(lower), {1, 3}, tol)
    end
  end)

  it("svd: U diag(S) Vh = A, reduced and full, wide and tall, batched", function()
    for _, dt in ipairs({ "float64", "float32" }) do
      local tol = dt == "float64" and 1e-10 or 1e-4
      local _, S = linalg.svd(cnn.tensor({ {1, 2, 3}, {4, 5, 6} }, dt))
      H.close(S, { 9.508032000695724, 0.7728696356734838 }, tol)   -- numpy.linalg.svd
      for _, shape in ipairs({ {2, 3, 5}, {2, 5, 3}, {4, 4} }) do
        local A = cnn.randn(shape, dt)
        local m, n = shape[#shape - 1], shape[#shape]
        local k = math.min(m, n)
        local U, S2, Vh = linalg.svd(A, { full_matrices = false })
        assert.are.equal(k, U:size(-1))
        H.close((U * S2:unsqueeze(-2)):matmul(Vh), A, tol * 10)
        local Uf, Sf, Vhf = linalg.svd(A)
        assert.are.equal(m, Uf:size(-1))
        assert.are.equal(n, Vhf:size(-2))
        H.close(mT(Uf):matmul(Uf), cnn.eye(m, m, dt):expand(Uf:size()), tol * 10)
        H.close(Vhf:matmul(mT(Vhf)), cnn.eye(n, n, dt):expand(Vhf:size()), tol * 10)
        H.close(Sf, S2, tol)
      end
    end
  end)

  it("qr: Q with orthonormal columns, R upper triangular, Q R = A", function()
    for _, dt in ipairs({ "float64", "float32" }) do
      local tol = dt == "float64" and 1e-10 or 1e-4
      for _, shape in ipairs({ {2, 5, 3}, {3, 5}, {4, 4} }) do
        local A = cnn.randn(shape, dt)
        local Q, R = linalg.qr(A)
        local m, n = shape[#shape - 1], shape[#shape]
        local k = math.min(m, n)
        assert.are.equal(k, Q:size(-1))
        assert.are.equal(k, R:size(-2))
        H.close(Q:matmul(R), A, tol * 10)
        local QtQ = mT(Q):matmul(Q)
        H.close(QtQ, cnn.eye(k, k, dt):expand(QtQ:size()), tol * 10)
        local r = R:reshape(-1, k, n):totable()
        for _, rb in ipairs(r) do
          for i = 1, k do for j = 1, i - 1 do assert.are.equal(0, rb[i][j]) end end
        end
      end
    end
  end)

  it("lstsq: least squares for tall A, the exact solution for square A", function()
    for _, dt in ipairs({ "float64", "float32" }) do
      local tol = dt == "float64" and 1e-10 or 1e-4
      local A = cnn.tensor({ {1, 0}, {0, 1}, {1, 1} }, dt)
      local x = linalg.lstsq(A, cnn.tensor({ {1}, {2}, {4} }, dt))
      H.close(x, { {4 / 3}, {7 / 3} }, tol)                  -- normal equations by hand
      local Ab = cnn.randn({2, 6, 3}, dt)
      local B = cnn.randn({2, 6, 2}, dt)
      local X = linalg.lstsq(Ab, B)
      -- the residual is orthogonal to A's columns
      H.close(mT(Ab):matmul(Ab:matmul(X) - B), cnn.zeros({2, 3, 2}, dt), tol * 10)
      -- wide A: the minimum-norm solution, in A's row space (x = A^T y)
      local W = cnn.tensor({ {1, 1, 0}, {0, 1, 1} }, dt)
      H.close(linalg.lstsq(W, cnn.tensor({ {2}, {3} }, dt)), { {1 / 3}, {5 / 3}, {4 / 3} }, tol)
      local Sq = wellcond(dt, 4, 4)
      local Bs = cnn.randn({4, 3}, dt)
      H.close(linalg.lstsq(Sq, Bs), linalg.solve(Sq, Bs), tol * 10)
    end
  end)

  it("gradcheck in float64: solve, cholesky, cholesky_solve, inv, slogdet, eigh, lstsq, qr, svd", function()
    local A = wellcond("float64", 3, 3):requires_grad(true)
    local Ab = wellcond("float64", 2, 3, 3):requires_grad(true)
    local B = cnn.randn({3, 2}, "float64"):requires_grad(true)
    local b = cnn.randn({3}, "float64"):requires_grad(true)
    H.gradcheck(function(a, y) return linalg.solve(a, y) end, { A, B })
    H.gradcheck(function(a, y) return linalg.solve(a, y) end, { Ab, B })     -- broadcast B
    H.gradcheck(function(a, y) return linalg.solve(a, y) end, { A, b })      -- vector
    -- cholesky and eigh read one triangle: differentiate through a symmetric input, as PyTorch does
    local X = cnn.randn({2, 3, 3}, "float64"):requires_grad(true)
    local function sym_pd(x) return x:matmul(mT(x)) + cnn.eye(3, 3, "float64") * 3 end
    H.gradcheck(function(x) return linalg.cholesky(sym_pd(x)) end, { X })
    H.gradcheck(function(x, y) return linalg.cholesky_solve(y, linalg.cholesky(sym_pd(x))) end, { X, B })
    local L = linalg.cholesky(sym_pd(X:detach())):requires_grad(true)
    H.gradcheck(function(y, l) return linalg.cholesky_solve(y, l) end, { B, L })
    H.gradcheck(function(a) return linalg.inv(a) end, { Ab })
    H.gradcheck(function(a) local _, la = linalg.slogdet(a); return la end, { Ab })
    local N = cnn.tensor({ { {0, 1, 0}, {2, 3, 1}, {1, 0, 1} } }, "float64"):requires_grad(true)  -- negative det
    H.gradcheck(function(a) local _, la = linalg.slogdet(a); return la end, { N })
    -- eigenvectors are defined up to sign: a function of V that does not see the sign
    H.gradcheck(function(x)
      local w, V = linalg.eigh(x + mT(x))
      return cnn.cat({ w, (V * V):reshape(2, 9) }, 2)
    end, { X })
    H.gradcheck(function(x) return (linalg.eigh(x + mT(x))) end, { X })
    -- lstsq: tall (least squares), square and wide (minimum norm) A, broadcast B
    H.gradcheck(function(a, y) return linalg.lstsq(a, y) end,
      { cnn.randn({2, 5, 3}, "float64"):requires_grad(true), cnn.randn({5, 2}, "float64"):requires_grad(true) })
    H.gradcheck(function(a, y) return linalg.lstsq(a, y) end, { A, B })
    H.gradcheck(function(a, y) return linalg.lstsq(a, y) end,
      { cnn.randn({2, 3, 5}, "float64"):requires_grad(true), cnn.randn({2, 3, 2}, "float64"):requires_grad(true) })
    -- qr: Q and R both carry gradients, tall, square and wide; Householder signs are fixed (no gauge)
    local T = cnn.randn({2, 4, 3}, "float64"):requires_grad(true)
    H.gradcheck(function(a) local q, r = linalg.qr(a); return cnn.cat({ q, r }, 2) end, { T })
    local Wd = cnn.randn({2, 3, 5}, "float64"):requires_grad(true)
    H.gradcheck(function(a) local q, r = linalg.qr(a); return cnn.cat({ q, r }, 3) end, { Wd })
    H.gradcheck(function(a) local q, r = linalg.qr(a); return q:matmul(r) end, { A })
    -- svd: U and Vh through sign-free functions (their columns/rows are defined up to sign)
    local function svd_fn(full)
      return function(a)
        local u, s, vh = linalg.svd(a, { full_matrices = full })
        local k = s:size(-1)
        u, vh = u:narrow(-1, 1, k), vh:narrow(-2, 1, k)
        return cnn.cat({ (u * u):reshape(-1), s:reshape(-1), (vh * vh):reshape(-1), u:matmul(vh):reshape(-1) }, 1)
      end
    end
    for _, shape in ipairs({ {4, 3}, {2, 3, 5}, {3, 3} }) do
      local M = cnn.randn(shape, "float64"):requires_grad(true)
      H.gradcheck(svd_fn(false), { M })
      H.gradcheck(svd_fn(true), { M })
    end
    -- repeated singular values: S alone keeps a finite gradient (d sum(S) / dA = U Vh = I here)
    local I2 = cnn.eye(3, 3, "float64"):requires_grad(true)
    local _, S2 = linalg.svd(I2)
    S2:sum():backward()
    H.close(I2.grad, cnn.eye(3, 3, "float64"), 1e-12)
    -- repeated eigenvalues: the eigenvalues' gradient alone stays finite (d sum(w) / dA = I)
    local I = cnn.eye(3, 3, "float64"):requires_grad(true)
    linalg.eigh(I):sum():backward()
    H.close(I.grad, cnn.eye(3, 3, "float64"), 1e-12)
  end)

  it("a singular or non-positive-definite input names the function and LAPACK's info", function()
    local S = cnn.tensor({ {1, 2}, {2, 4} }, "float64")
    H.errors(function() linalg.solve(S, cnn.ones({2}, "float64")) end,
      "cnn.linalg.solve: the matrix is singular: U[2,2] of its LU factorization is exactly zero (LAPACK dgesv info = 2)")
    H.errors(function() linalg.inv(S:float()) end,
      "cnn.linalg.inv: the matrix is singular: U[2,2] of its LU factorization is exactly zero (LAPACK sgetrf info = 2)")
    H.errors(function() linalg.inv(cnn.stack({ cnn.eye(2, 2, "float64"), S })) end,
      "cnn.linalg.inv: the matrix is singular: U[2,2] of its LU factorization is exactly zero (matrix 2 of the batch) (LAPACK dgetrf info = 2)")
    H.errors(function() linalg.cholesky(cnn.tensor({ {1, 2}, {2, 1} }, "float64")) end,
      "cnn.linalg.cholesky: the matrix is not positive-definite: its leading minor of order 2 is not (LAPACK dpotrf info = 2)")
    H.errors(function() linalg.cholesky(cnn.tensor({ {-1} })) end,
      "cnn.linalg.cholesky: the matrix is not positive-definite: its leading minor of order 1 is not (LAPACK spotrf info = 1)")
    H.errors(function() linalg.lstsq(cnn.tensor({ {1, 0}, {2, 0}, {3, 0} }, "float64"), cnn.ones({3, 1}, "float64")) end,
      "cnn.linalg.lstsq: the matrix does not have full rank: R[2,2] of its QR factorization is exactly zero (LAPACK dgels info = 2)")
  end)

  it("checks its arguments", function()
    H.errors(function() linalg.solve(cnn.ones(2, 3), cnn.ones(2)) end,
      "cnn.linalg.solve: argument 1 (A): expected a square matrix or a batch of them (..., n, n), got float32 [2,3]")
    H.errors(function() linalg.solve(cnn.eye(2), cnn.ones(3)) end,
      "cnn.linalg.solve: argument 2 (B): expected 2 rows to match float32 [2,2], got float32 [3]")
    H.errors(function() linalg.solve(cnn.eye(2), cnn.ones(3, 1)) end,
      "cnn.linalg.solve: argument 2 (B): expected (..., 2, k) or a vector to match float32 [2,2], got float32 [3,1]")
    H.errors(function() linalg.solve(cnn.eye(2), cnn.ones({2}, "float64")) end,
      "cnn.linalg.solve: argument 2 (B): expected float32 like A, got float64 [2]")
    H.errors(function() linalg.inv(cnn.ones(3)) end,
      "cnn.linalg.inv: argument 1 (A): expected a square matrix or a batch of them (..., n, n), got float32 [3]")
    H.errors(function() linalg.cholesky_solve(cnn.ones(3, 1), cnn.ones(2, 2)) end,
      "cnn.linalg.cholesky_solve: argument 1 (B): expected (..., 2, k) to match float32 [2,2], got float32 [3,1]")
    H.errors(function() linalg.svd(cnn.ones(2, 2), { full = true }) end,
      "cnn.linalg.svd: argument 2 (options): unknown option 'full' (expected full_matrices)")
    H.errors(function() linalg.svd(cnn.ones(2, 2), { full_matrices = 1 }) end,
      "cnn.linalg.svd: argument 2 (options): full_matrices must be a boolean, got number")
    H.errors(function() linalg.solve(nil, cnn.ones(2)) end, "cnn.linalg.solve: argument 1 (A)")
    H.errors(function() linalg.svd(cnn.ones(50000, 1):expand(50000, 2)) end,
      "cnn.linalg.svd: argument 1 (A): full_matrices = true would make a matrix of 2^31 elements or more")
  end)

  it("hostile arguments get a cnn.linalg message, never a raw error or a crash", function()
    local nan = cnn.full({3, 3}, 0 / 0, "float64")
    local vals = table.pack(nil, 3, "x", {}, { full_matrices = true }, true, cnn.zeros(0), cnn.ones(3), cnn.ones(2, 3),
                   cnn.ones(3, 2), cnn.eye(3), cnn.eye(3, 3, "float64"), cnn.zeros(0, 0), cnn.zeros(2, 0, 0),
                   cnn.ones(1, 1):expand(4, 3, 3), cnn.ones(2, 3, 3):transpose(1, 3), nan,
                   cnn.tensor({ { 1 / 0, 0 }, { 0, 1 } }), cnn.eye(3):requires_grad(true), cnn.zeros(3, 3))
    local n = 0
    for name, f in pairs(linalg) do
      for i = 1, vals.n + 1 do
        for j = 1, vals.n + 1 do
          local ok, err = pcall(f, vals[i], vals[j])
          n = n + 1
          if not ok then
            assert(tostring(err):find("cnn.linalg." .. name .. ": ", 1, true),
              ("linalg.%s(%d, %d): %s"):format(name, i, j, tostring(err)))
          end
        end
      end
    end
    assert.is_true(n > 3000)
  end)

  it("empty matrices and the graph: nothing leaks", function()
    local e = cnn.zeros({0, 0}, "float64")
    assert.are.same({0, 0}, linalg.inv(e):size())
    assert.are.same({0, 0}, linalg.cholesky(e):size())
    local s, la = linalg.slogdet(e)
    assert.are.equal(1, s:item())
    assert.are.equal(0, la:item())
    assert.are.same({2, 3, 0}, linalg.solve(cnn.eye(3):expand(2, 3, 3), cnn.ones(2, 3, 0)):size())
    assert.are.same({0, 3, 2}, linalg.solve(cnn.ones(0, 3, 3), cnn.ones(3, 2)):size())
    local U, S, Vh = linalg.svd(cnn.ones(0, 2))
    assert.are.same({ {0, 0}, {0}, {2, 2} }, { U:size(), S:size(), Vh:size() })
    assert.are.same({ {1, 0}, {0, 1} }, Vh:totable())
    -- every function forward and backward on empty batches and empty matrices
    for _, shape in ipairs({ {0, 3, 3}, {2, 0, 0}, {0, 0}, {3, 0} }) do
      local E = cnn.zeros(shape, "float64"):requires_grad(true)
      local m, n = shape[#shape - 1], shape[#shape]
      local rhs = cnn.zeros(#shape == 3 and { shape[1], m, 2 } or { m, 2 }, "float64")
      local function total(...)
        local t = 0
        for _, r in ipairs({ ... }) do t = t + r:sum() end
        return t
      end
      local calls = {
        function() return total(linalg.svd(E)) end,
        function() return total(linalg.svd(E, { full_matrices = false })) end,
        function() return total(linalg.qr(E)) end,
        function() return total(linalg.lstsq(E, rhs)) end,
      }
      if m == n then
        for _, f in ipairs({
          function() return total(linalg.solve(E, rhs)) end,
          function() return total(linalg.inv(E)) end,
          function() return total(linalg.cholesky(E)) end,
          function() return total(select(2, linalg.slogdet(E))) end,
          function() return total(linalg.eigh(E)) end,
        }) do calls[#calls + 1] = f end
      end
      for _, f in ipairs(calls) do
        E.grad = nil
        f():backward()
        assert.are.same(shape, E.grad:size())
      end
    end
    H.no_leak(function()
      local A = wellcond("float64", 2, 3, 3):requires_grad(true)
      local w, V = linalg.eigh(A + mT(A))
      local _, la = linalg.slogdet(A)
      local y = linalg.solve(A, cnn.ones({3}, "float64")):sum() + linalg.inv(A):sum() + la:sum()
        + linalg.cholesky(A:matmul(mT(A))):sum() + w:sum() + (V * V):sum()
      y:backward()
      assert.are.same({2, 3, 3}, A.grad:size())
      pcall(linalg.cholesky, -A)
      pcall(linalg.solve, A * 0, cnn.ones({3}, "float64"))
    end)
  end)
end)
