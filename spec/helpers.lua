-- Shared by the specs: numeric comparison, leak checking and error-message assertions.
local cnn = require "cnn"
local H = {}

-- max |a - b| over two tensors (or a tensor and a nested table)
function H.maxdiff(a, b)
  if type(b) == "table" and not cnn.is_tensor(b) then b = cnn.tensor(b, "float64") end
  return (a:double() - b:double()):abs():max():item()
end

function H.close(a, b, tol)
  local d = H.maxdiff(a, b)
  assert(d <= (tol or 1e-6), ("tensors differ by %g (tolerance %g)"):format(d, tol or 1e-6))
end

-- runs fn, then checks that no tensor bytes outlive it
function H.no_leak(fn)
  collectgarbage(); collectgarbage()
  local before = cnn.memory()
  fn()
  collectgarbage(); collectgarbage()
  local after = cnn.memory()
  assert(after == before, ("leaked %d bytes"):format(after - before))
end

-- asserts that fn raises an error whose message contains `text` literally
function H.errors(fn, text)
  local ok, err = pcall(fn)
  assert(not ok, "expected an error containing: " .. text)
  err = tostring(err)
  assert(err:find(text, 1, true), ("expected an error containing\n  %s\ngot\n  %s"):format(text, err))
end

function H.gradcheck(fn, inputs, opts)
  local ok, worst, report = cnn.gradcheck(fn, inputs, opts)
  assert(ok, "gradcheck failed: " .. report .. (" (worst relative error %g)"):format(worst))
  return worst
end

return H
