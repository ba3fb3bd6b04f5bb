-- cnn.cli: command-line options for examples and tools.
--   local opts = cnn.cli.parse(arg, {
--     description = "Train a CNN on Fashion-MNIST",
--     { "epochs", 8, "number of passes over the training set" },
--     { "lr", 1e-3, "learning rate" },
--     { "out", "out/fmnist", "output folder" },
--     { "resume", false, "continue from the checkpoint in --out" },
--   })
-- Each option has a long name, a default (whose type is the option's type: number, string or
-- boolean flag) and a help line. `--name value`, `--name=value` and, for flags, `--name` /
-- `--no-name` are accepted; `--help` prints the usage and exits. Names may use - or _.
local A = require "cnn.nn.argcheck"
local M = {}

-- the spec table of parse and usage (argument i of fn), checked
local function check_spec(fn, i, spec)
  A.table(fn, i, "spec", spec, "a list of {name, default, help}")
  if spec.description ~= nil then A.str(fn, i, "description", spec.description) end
  for k = 1, rawlen(spec) do
    local o = rawget(spec, k)
    local name = ("spec[%d]"):format(k)
    A.table(fn, i, name, o, "{name, default, help}")
    A.str(fn, i, name .. "[1]", o[1])
    local t = type(o[2])
    if t ~= "number" and t ~= "string" and t ~= "boolean" then A.fail(fn, i, name .. "[2]", "a number, string or boolean default", o[2]) end
    if o[3] ~= nil then A.str(fn, i, name .. "[3]", o[3]) end
  end
end

local function usage(spec, prog)
  local lines = { ("usage: %s [options]"):format(prog or "script") }
  if spec.description then lines[#lines + 1] = spec.description end
  lines[#lines + 1] = "options:"
  for i = 1, rawlen(spec) do
    local o = rawget(spec, i)
    local name, def, help = o[1]:gsub("_", "-"), o[2], o[3] or ""
    local left = type(def) == "boolean" and ("--" .. name) or ("--%s %s"):format(name, type(def) == "number" and "N" or "S")
    local d = def == "" and "" or (" (default: %s)"):format(tostring(def))   -- "": no default
    lines[#lines + 1] = ("  %-24s %s%s"):format(left, help, d)
  end
  lines[#lines + 1] = ("  %-24s %s"):format("--help", "show this help and exit")
  return table.concat(lines, "\n")
end

-- returns the options table, or raises "cnn.cli: ..." on a bad command line
function M.parse(args, spec, opts)
  local fn = "cnn.cli.parse"
  if args ~= nil then A.table(fn, 1, "args", args, "the arg table") end
  check_spec(fn, 2, spec)
  opts = A.opts(fn, 3, opts, { "exit" })
  A.bool(fn, 3, "exit", opts.exit)
  local prog = args and rawget(args, 0) or "script"
  if type(prog) ~= "string" then prog = "script" end
  local byname, out = {}, {}
  for i = 1, rawlen(spec) do
    local o = rawget(spec, i)
    local key = o[1]:gsub("-", "_")
    byname[key] = o
    out[key] = o[2]
  end
  local i = 1
  while args and rawget(args, i) ~= nil do
    local a = rawget(args, i)
    if type(a) ~= "string" then A.fail(fn, 1, ("args[%d]"):format(i), "a string", a) end
    if a == "--help" or a == "-h" then
      io.write(usage(spec, prog), "\n")
      if opts.exit == false then return nil, "help" end
      os.exit(0)
    end
    local name, value = a:match("^%-%-([%w_-]+)=(.*)$")
    if not name then name = a:match("^%-%-([%w_-]+)$") end
    if not name then A.error(("cnn.cli: unexpected argument '%s' (options start with --; see --help)"):format(a)) end
    local key = name:gsub("-", "_")
    local negate = false
    if not byname[key] and key:sub(1, 3) == "no_" and byname[key:sub(4)] and type(byname[key:sub(4)][2]) == "boolean" then
      key, negate = key:sub(4), true
    end
    local o = byname[key]
    if not o then A.error(("cnn.cli: unknown option --%s (see --help)"):format(name)) end
    local kind = type(o[2])
    if kind == "boolean" then
      if value then
        if value ~= "true" and value ~= "false" then A.error(("cnn.cli: option --%s expects true or false, got '%s'"):format(name, value)) end
        out[key] = (value == "true") ~= negate
      else
        out[key] = not negate
      end
    else
      if not value then
        i = i + 1
        value = rawget(args, i)
        if value ~= nil and type(value) ~= "string" then A.fail(fn, 1, ("args[%d]"):format(i), "a string", value) end
        if value == nil then A.error(("cnn.cli: option --%s needs a value"):format(name)) end
      end
      if kind == "number" then
        local v = tonumber(value)
        if not v then A.error(("cnn.cli: option --%s expects a number, got '%s'"):format(name, value)) end
        out[key] = v
      else
        out[key] = value
      end
    end
    i = i + 1
  end
  return out
end

-- usage(spec [, prog]): the --help text
function M.usage(spec, prog)
  check_spec("cnn.cli.usage", 1, spec)
  if prog ~= nil then A.str("cnn.cli.usage", 2, "prog", prog) end
  return usage(spec, prog)
end
return M
