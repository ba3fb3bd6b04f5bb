-- cnn.http: a small HTTP server for serving models (the AMD risk calculator), on libmicrohttpd.
-- The C binding (csrc/lua_http.c) runs the daemon on the Lua thread: server:run(ms) serves what
-- arrived and calls the handler, a Lua function, for each complete request. This module adds what a
-- web application needs around it: a router, responses, form fields, HTML escaping and JSON.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"

local http = {}

local core = require "cnn._http"

local STATUS_TEXT = { [200] = "OK", [400] = "Bad Request", [404] = "Not Found", [405] = "Method Not Allowed",
                      [413] = "Payload Too Large", [415] = "Unsupported Media Type", [422] = "Unprocessable Content",
                      [500] = "Internal Server Error" }

-- http.server{handler = fn(req) -> status, headers, body, host = "127.0.0.1", port = 8080,
--             max_body = 20 MB, max_connections = 64, timeout = 15, request_timeout = 60}
function http.server(opts)
  local fn = "cnn.http.server"
  A.table(fn, 1, "opts", opts)
  A.opts(fn, 1, opts, { "handler", "host", "port", "max_body", "max_connections", "timeout", "request_timeout", "log" })
  A.func(fn, 1, "handler", opts.handler)
  A.func(fn, 1, "log", opts.log, true)
  if opts.port ~= nil then A.int(fn, 1, "port", opts.port, 0) end
  local handler = opts.handler
  local log = opts.log or function(msg) io.stderr:write(msg, "\n") end
  -- a failing handler, or one answering nonsense, is logged and answered 500: the server lives on
  local function safe(req)
    local ok, status, headers, body = xpcall(handler, debug.traceback, req)
    local why
    if not ok then why = tostring(status)
    elseif math.type(status) ~= "integer" or status < 100 or status > 599 then
      why = "the handler returned status " .. tostring(status) .. ", expected an integer in 100..599"
    elseif headers ~= nil and type(headers) ~= "table" then
      why = "the handler returned headers of type " .. type(headers) .. ", expected a table"
    elseif headers and not pcall(function()
        for k, v in pairs(headers) do
          assert(type(k) == "string" and type(v) == "string" and not k:find("[\r\n:]") and not v:find("[\r\n]"))
        end
      end) then
      why = "the handler returned a header that is not a string name and value without line breaks"
    elseif body ~= nil and type(body) ~= "string" then
      why = "the handler returned a body of type " .. type(body) .. ", expected a string"
    else
      return status, headers, body
    end
    pcall(log, ("cnn.http: %s %s: %s"):format(req.method, req.path, why))
    return 500, { ["Content-Type"] = "text/plain; charset=utf-8" }, "internal server error\n"
  end
  local o = {}
  for k, v in pairs(opts) do if k ~= "log" then o[k] = v end end
  o.handler = safe
  return A.call_as(fn, core.server, o)
end

-- http.serve(server [, {until = fn() -> boolean, step_ms = 250}]): serves until `until` says stop
-- (or forever); an interrupt (Ctrl-C) ends the loop with Lua's usual error
function http.serve(server, opts)
  local fn = "cnn.http.serve"
  A.opts(fn, 2, opts, { "until", "step_ms" })
  opts = opts or {}
  local stop = opts["until"]
  if stop ~= nil then A.func(fn, 2, "until", stop) end
  local ms = A.int(fn, 2, "step_ms", opts.step_ms, 0, 250)
  while not (stop and stop()) do server:run(ms) end
end

-- a response: status, headers, body (what a handler returns)
function http.response(status, body, content_type, headers)
  local h = { ["Content-Type"] = content_type or "text/plain; charset=utf-8",
              ["X-Content-Type-Options"] = "nosniff" }
  for k, v in pairs(headers or {}) do h[k] = v end
  return status, h, body or ""
end

function http.status_text(status) return STATUS_TEXT[status] or "" end

-- &, <, >, " and ' as entities: for any text put into HTML
function http.html_escape(s)
  return (tostring(s):gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                           ['"'] = "&quot;", ["'"] = "&#39;" }))
end

local json
-- JSON text of a Lua value (lua-cjson, Debian's lua-cjson); NaN and infinities become null
function http.json(v)
  if not json then
    local ok, cjson = pcall(require, "cjson")
    if not ok then A.error("cnn.http.json: the JSON library lua-cjson is missing (apt-get install lua-cjson)") end
    json = cjson.new()
    json.encode_invalid_numbers("null")
    json.encode_number_precision(14)                 -- lua-cjson's most: beyond float32's 7 digits
  end
  return json.encode(v)
end

-- the first form field of that name (a table {name, value, filename, content_type}), or nil
function http.field(req, name)
  for _, f in ipairs(req.fields or {}) do
    if f.name == name then return f end
  end
  return nil
end

-- http.router{["GET /"] = fn, ["POST /api/predict"] = fn, ...} -> a handler: an unknown path is
-- 404, a known path with another method 405 (with Allow); HEAD is answered as GET without a body
function http.router(routes)
  local fn = "cnn.http.router"
  A.table(fn, 1, "routes", routes)
  local by_path = {}
  for key, f in pairs(routes) do
    local method, path = tostring(key):match("^(%u+) (/%S*)$")
    if not method then A.fail(fn, 1, "routes", "keys like 'GET /path'", key) end
    A.func(fn, 1, key, f)
    by_path[path] = by_path[path] or {}
    by_path[path][method] = f
  end
  return function(req)
    local methods = by_path[req.path]
    if not methods then return http.response(404, "not found\n") end
    local f = methods[req.method] or (req.method == "HEAD" and methods.GET)
    if not f then
      local allow = {}
      for m in pairs(methods) do allow[#allow + 1] = m end
      table.sort(allow)
      return http.response(405, "method not allowed\n", nil, { Allow = table.concat(allow, ", ") })
    end
    local status, headers, body = f(req)
    if req.method == "HEAD" then body = "" end
    return status, headers, body
  end
end

return http
