-- The readers' and writers' errors point at the user's call (docs/api.md, "Errors"), also when the
-- user calls them through pcall or as a tail call, where the caller's frame is not the one above
-- the library function: cnn.load, cnn.save, cnn.image.save, cnn.data.idx.load, csv.read and
-- sequence.read_fasta.
local cnn = require "cnn"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local function write(name, text)
  local f = assert(io.open(dir .. "/" .. name, "wb"))
  f:write(text)
  f:close()
  return dir .. "/" .. name
end

-- pcall(f, ...) on this file's line `line` raises "spec/reader_errors_spec.lua:<line>: <text>..."
local function check(line, text, ok, e)
  assert.is_false(ok)
  local want = ("spec/reader_errors_spec.lua:%d: %s"):format(line, text)
  assert(tostring(e):sub(1, #want) == want, ("expected\n  %s\ngot\n  %s"):format(want, tostring(e)))
end
local function here() return debug.getinfo(2, "l").currentline end

describe("reader and writer errors", function()
  teardown(function() os.execute("rm -rf " .. dir) end)

  it("point at a pcall of cnn.load / cnn.save / cnn.image.save", function()
    check(here(), "cnn.load: cannot open /nonexistent", pcall(cnn.load, "/nonexistent"))
    check(here(), "cnn.load: argument 1 (path): expected a file name, got 3", pcall(cnn.load, 3))
    check(here(), "cnn.load: " .. write("bad.safetensors", "12345678"), pcall(cnn.load, dir .. "/bad.safetensors"))
    check(here(), "cnn.save: argument 2 (path)", pcall(cnn.save, cnn.zeros(2), 7))
    check(here(), "cnn.save: argument 1 (obj): cannot save a function", pcall(cnn.save, { print }, dir .. "/x.safetensors"))
    check(here(), "cnn.save: cannot write /nonexistent/x", pcall(cnn.save, cnn.zeros(2), "/nonexistent/x"))
    check(here(), "cnn.image.save: /nonexistent/x.png: cannot open", pcall(cnn.image.save, cnn.zeros(3, 2, 2), "/nonexistent/x.png"))
    check(here(), "cnn.image.save: argument 2 (path)", pcall(cnn.image.save, cnn.zeros(3, 2, 2), 1))
  end)

  it("point at a pcall of the data readers", function()
    local fasta = write("cut.fa", ">a\nACGT\n>b\n")
    check(here(), "cnn.data.sequence.read_fasta: " .. fasta .. ": line 3: record 'b' has no sequence", pcall(cnn.data.sequence.read_fasta, fasta))
    check(here(), "cnn.data.sequence.read_fasta: /nonexistent.fa: cannot open: No such file", pcall(cnn.data.sequence.read_fasta, "/nonexistent.fa"))
    local u = write("u.fa", ">a\nACXT\n")
    check(here(), "cnn.data.sequence.read_fasta: " .. u .. ": line 2, column 3: unknown base 'X'", pcall(cnn.data.sequence.read_fasta, u))
    check(here(), "cnn.data.sequence.read_fasta: argument 1 (path): expected a string", pcall(cnn.data.sequence.read_fasta, {}))
    check(here(), "cnn.data.sequence.read_fasta: argument 2 (options): unknown option 'alfabet'", pcall(cnn.data.sequence.read_fasta, fasta, { alfabet = "ACGT" }))
    local idx = write("bad.idx", "xxxx")
    check(here(), "cnn.data.idx.load: " .. idx .. ": wrong magic", pcall(cnn.data.idx.load, idx))
    check(here(), "cnn.data.idx.load: argument 2 (options): unknown option 'scal'", pcall(cnn.data.idx.load, idx, { scal = 1 }))
    local csv = write("twice.csv", "a,a\n1,2\n")
    check(here(), "cnn.data.csv.read: " .. csv .. ": column name 'a' appears twice", pcall(cnn.data.csv.read, csv))
    check(here(), "cnn.data.csv.read: /nonexistent.csv: cannot open", pcall(cnn.data.csv.read, "/nonexistent.csv"))
    check(here(), "cnn.data.csv.read: argument 2 (options): unknown option 'seperator'", pcall(cnn.data.csv.read, csv, { seperator = ";" }))
  end)

  it("point at the user's line when the figure cannot be written", function()
    local line
    local function draw()
      line = here() + 1
      cnn.plot.lines({ y = { 1, 2 } }, "/nonexistent/x.svg")                  -- not a tail call
      return true
    end
    local ok, e = pcall(draw)
    check(line, "cnn.plot.lines: cannot write /nonexistent/x.svg", ok, e)
  end)

  it("point at the caller of a tail call", function()
    local line = here() + 1
    local ok, e = pcall(function() return cnn.load("/nonexistent") end)
    check(line, "cnn.load: cannot open /nonexistent", ok, e)
  end)
end)
