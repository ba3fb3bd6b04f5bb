-- cnn.http: the server on libmicrohttpd, driven from the Lua thread. Each test starts a server on a
-- free loopback port in this process and talks to it with curl run in the background (H.fetch),
-- pumping server:run until curl is done; the server is closed at the end of each test.
local cnn = require "cnn"
local http = cnn.http

local have_curl = os.execute("command -v curl >/dev/null 2>&1")

local H = require "helpers"
local slurp, fetch = H.slurp, H.fetch
local function get(server, path, args) local code, body = fetch(server, path, args); return { code, body } end

local function with_server(opts, f)
  local s = http.server(opts)
  local ok, err = pcall(f, s)
  s:close()
  if not ok then error(err, 0) end
end

describe("cnn.http", function()
  if not have_curl then
    print("cnn.http spec skipped: curl is not installed (apt-get install curl)")
    return
  end

  it("serves GET with the query and the headers (names in lower case) to the handler", function()
    local seen
    with_server({ port = 0, handler = function(req)
      seen = req
      return 200, { ["Content-Type"] = "text/plain", ["X-Test"] = "yes" }, "hi " .. req.query.name
    end }, function(s)
      assert.is_true(s:port() > 0)
      local code, body = fetch(s, "/a/b?name=x%20y&n=2", "-H 'X-Custom-Thing: Val'")
      assert.equal(200, code)
      assert.equal("hi x y", body)
    end)
    assert.equal("GET", seen.method)
    assert.equal("/a/b", seen.path)
    assert.equal("2", seen.query.n)
    assert.equal("Val", seen.headers["x-custom-thing"])
    assert.equal("", seen.body)
  end)

  it("gives multipart fields (file bytes exact, with filename and type) and urlencoded fields", function()
    local bytes = {}
    for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
    local payload = table.concat(bytes):rep(300)                      -- 76,800 bytes, every byte value
    local file = os.tmpname()
    local f = assert(io.open(file, "wb")); f:write(payload); f:close()
    local got = {}
    with_server({ port = 0, handler = function(req)
      got[#got + 1] = req.fields
      return http.response(200, "ok")
    end }, function(s)
      local code = fetch(s, "/up", ("-F genotype=2 -F 'photo=@%s;type=image/png;filename=eye.png'"):format(file))
      assert.equal(200, code)
      code = fetch(s, "/form", "-d 'a=1&b=hello%20world&a=3'")
      assert.equal(200, code)
    end)
    os.remove(file)
    local m = got[1]
    assert.equal(2, #m)
    assert.equal("genotype", m[1].name)
    assert.equal("2", m[1].value)
    assert.is_nil(m[1].filename)
    assert.equal("photo", m[2].name)
    assert.equal("eye.png", m[2].filename)
    assert.equal("image/png", m[2].content_type)
    assert.equal(#payload, #m[2].value)
    assert.is_true(m[2].value == payload)
    local u = got[2]
    assert.equal(3, #u)
    assert.same({ "a", "1" }, { u[1].name, u[1].value })
    assert.same({ "b", "hello world" }, { u[2].name, u[2].value })
    assert.same({ "a", "3" }, { u[3].name, u[3].value })
    assert.equal("1", http.field({ fields = u }, "a").value)
    assert.is_nil(http.field({ fields = u }, "zz"))
  end)

  it("gives a raw body (not a form) as req.body", function()
    local body
    with_server({ port = 0, handler = function(req) body = req.body; return 204, nil, "" end }, function(s)
      local code = fetch(s, "/raw", "-H 'Content-Type: application/json' --data-binary '{\"x\": [1,2]}'")
      assert.equal(204, code)
    end)
    assert.equal('{"x": [1,2]}', body)
  end)

  it("routes: 404 for an unknown path, 405 with Allow for another method, HEAD as GET without body", function()
    local handler = http.router {
      ["GET /"] = function() return http.response(200, "root") end,
      ["POST /api"] = function() return http.response(200, "api") end,
    }
    with_server({ port = 0, handler = handler }, function(s)
      assert.same({ 200, "root" }, get(s, "/"))
      assert.equal(404, (fetch(s, "/nope")))
      assert.equal(404, (fetch(s, "/../../etc/passwd", "--path-as-is")))
      local code, body = fetch(s, "/api")
      assert.equal(405, code)
      assert.equal("method not allowed\n", body)
      local c2, b2 = fetch(s, "/", "-I")                                   -- -I: the body file holds the headers
      assert.equal(200, c2)
      assert.truthy(b2:find("Content%-Length: 0"))
      assert.falsy(b2:find("root"))
    end)
    local st, h = handler({ method = "GET", path = "/api" })
    assert.equal(405, st)
    assert.equal("POST", h.Allow)
  end)

  it("answers 500 when the handler fails or returns nonsense, and keeps serving", function()
    local n, logged = 0, {}
    with_server({ port = 0, log = function(m) logged[#logged + 1] = m end, handler = function(req)
      n = n + 1
      if req.path == "/err" then error("deliberate") end
      if req.path == "/status" then return "two hundred", {}, "" end
      if req.path == "/headers" then return 200, { ["Bad\r\nHeader"] = "x" }, "" end
      if req.path == "/body" then return 200, {}, {} end
      return http.response(200, "fine")
    end }, function(s)
      assert.equal(500, (fetch(s, "/err")))
      assert.equal(500, (fetch(s, "/status")))
      assert.equal(500, (fetch(s, "/headers")))
      assert.equal(500, (fetch(s, "/body")))
      assert.same({ 200, "fine" }, get(s, "/ok"))
    end)
    assert.equal(5, n)
    assert.equal(4, #logged)
    assert.truthy(logged[1]:find("^cnn.http: GET /err: spec/http_spec.lua:%d+: deliberate"))
    assert.truthy(logged[2]:find("returned status two hundred", 1, true))
    assert.truthy(logged[3]:find("without line breaks", 1, true))
    assert.truthy(logged[4]:find("returned a body of type table", 1, true))
  end)

  it("refuses a body over max_body with 413 from Content-Length, before reading it", function()
    local called = false
    with_server({ port = 0, max_body = 1000, handler = function() called = true; return 200, {}, "" end }, function(s)
      local code, body = fetch(s, "/up", "--data-binary @Makefile")          -- a few KB
      assert.equal(413, code)
      assert.equal("request body too large\n", body)
      assert.equal(200, (fetch(s, "/up", "--data-binary 'small'")))
    end)
    assert.is_true(called)                                                -- only by the small one
  end)

  it("refuses a chunked body (no Content-Length) with 413 once it passes max_body", function()
    local calls = 0
    with_server({ port = 0, max_body = 1000, handler = function() calls = calls + 1; return 200, {}, "" end }, function(s)
      local code = fetch(s, "/up", "-H 'Transfer-Encoding: chunked' --data-binary @Makefile")
      assert.equal(413, code)
    end)
    assert.equal(0, calls)
  end)

  it("cuts a client that sends one byte a second after request_timeout", function()
    with_server({ port = 0, request_timeout = 1.5, handler = function() return 200, {}, "" end }, function(s)
      local done = os.tmpname()
      os.execute(("((printf 'POST / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 50\\r\\n\\r\\n'; " ..
                  "for i in 1 2 3 4 5 6 7 8; do sleep 1; printf a; done) | env -u LD_PRELOAD curl -s -m 12 telnet://127.0.0.1:%d >/dev/null 2>&1; " ..
                  "echo x > %s.done) &"):format(s:port(), done))
      local t0 = os.time()
      while not slurp(done .. ".done") do
        s:run(50)
        assert(os.time() - t0 < 15)
      end
      os.remove(done); os.remove(done .. ".done")
      assert.is_true(os.time() - t0 <= 5, "the slow client held its connection " .. (os.time() - t0) .. " s")
    end)
  end)

  it("checks its arguments", function()
    local h = function() return 200, {}, "" end
    assert.has_error(function() http.server() end,
      "cnn.http.server: argument 1 (opts): expected a table, got nil")
    assert.error_matches(function() http.server { port = 0 } end, "cnn.http.server: argument 1 %(handler%): expected a function")
    assert.error_matches(function() http.server { port = 0, handler = h, prot = 1 } end, "unknown option 'prot'")
    assert.error_matches(function() http.server { port = 70000, handler = h } end, "option port: expected a number in 0..65535")
    assert.error_matches(function() http.server { port = 0, host = "example.com", handler = h } end,
      "option host: expected an IPv4 or IPv6 address")
    assert.error_matches(function() http.server { port = 0, max_body = -1, handler = h } end, "option max_body")
    assert.error_matches(function() http.router { ["FETCH"] = h } end, "cnn.http.router: argument 1 %(routes%): expected keys like 'GET /path'")
    local s = http.server { port = 0, handler = h }
    local port = s:port()
    assert.error_matches(function() http.server { port = port, handler = h } end, "cannot listen on 127.0.0.1 port " .. port)
    assert.error_matches(function() s:run(-1) end, "cnn.http.run: argument 1 %(ms%)")
    s:close()
    assert.error_matches(function() s:run(1) end, "cnn.http.run: the server is closed")
    s:close()                                                             -- twice is fine
  end)

  it("refuses run and close from inside its own handler (500, the server lives on)", function()
    local s, logged = nil, {}
    s = http.server { port = 0, log = function(m) logged[#logged + 1] = m end, handler = function(req)
      if req.path == "/run" then s:run(1) else s:close() end
      return 200, {}, ""
    end }
    assert.equal(500, (fetch(s, "/run")))
    assert.equal(500, (fetch(s, "/close")))
    s:close()
    assert.truthy(logged[1]:find("cnn.http.run: called from inside the server's own handler", 1, true))
    assert.truthy(logged[2]:find("cnn.http.close: called from inside the server's own handler", 1, true))
  end)

  it("escapes HTML and writes JSON (NaN as null, arrays as arrays)", function()
    assert.equal("&lt;a href=&quot;x&quot;&gt;&amp;&#39;", http.html_escape("<a href=\"x\">&'"))
    assert.equal('{"p":[0.5,null]}', http.json { p = { 0.5, 0 / 0 } })
  end)
end)
