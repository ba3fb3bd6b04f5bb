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

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
H.slurp = slurp

-- H.fetch(server, path [, curl_args [, timeout]]) -> status (0: no answer), body, curl's exit code.
-- Runs curl in the background against a cnn.http server of this process on loopback, serving
-- while it runs. curl runs without the ASan preload of make test-asan (it hangs in p11-kit under it).
function H.fetch(server, path, args, timeout)
  timeout = timeout or 10
  local tmp = os.tmpname()
  local url = ("http://127.0.0.1:%d%s"):format(server:port(), path)
  os.execute(("(env -u LD_PRELOAD curl -s -m %d -o %s.body -w '%%{http_code}' %s '%s' > %s.code 2>/dev/null; echo $? > %s.done) &")
    :format(timeout, tmp, args or "", url, tmp, tmp))
  local t0 = os.time()
  local rc
  repeat
    server:run(20)
    assert(os.time() - t0 < timeout + 5, "curl did not finish")
    rc = tonumber(slurp(tmp .. ".done") or "")        -- the file may be empty for an instant
  until rc
  local code, body = tonumber(slurp(tmp .. ".code") or "") or 0, slurp(tmp .. ".body") or ""
  for _, ext in ipairs { "", ".body", ".code", ".done" } do os.remove(tmp .. ext) end
  return code, body, rc
end

return H
