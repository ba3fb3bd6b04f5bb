-- cnn.data.sequence: FASTA and plain files, one-hot encoding, unknown letters.
local cnn = require "cnn"
local H = require "helpers"
local P = require "fixtures.png"
local seq = require "cnn.data.sequence"

describe("cnn.data.sequence", function()
  local dir
  setup(function() dir = P.tmpdir() end)
  teardown(function() P.rmdir(dir) end)
  local function file(name, text) return P.write(dir .. "/" .. name, text) end

  it("reads FASTA records spread over several lines", function()
    local p = file("a.fa", ">s1 first\nACGT\nacgn\n\n>s2\r\nTTTT\nGGGG\n")
    local ids, seqs = seq.read_fasta(p)
    assert.are.same({ "s1", "s2" }, ids)
    assert.are.same({ "ACGTacgn", "TTTTGGGG" }, seqs)
  end)

  it("reads plain files, one sequence per line", function()
    local ids, seqs = seq.read_fasta(file("b.txt", "ACG\n\nTTA\n"))
    assert.are.same({ "1", "3" }, ids)
    assert.are.same({ "ACG", "TTA" }, seqs)
  end)

  it("names the file, line and column of an unknown base", function()
    local p = file("bad.fa", ">s1\nACGT\nACXT\n")
    H.errors(function() seq.read_fasta(p) end,
      "cnn.data.sequence.read_fasta: " .. p .. ": line 3, column 3: unknown base 'X' (expected one of ACGTN)")
  end)

  it("refuses a record without sequence (a truncated file) at read time, naming file and line", function()
    local cut = file("cut.fa", ">s1\nACGT\n>s2\n")
    H.errors(function() seq.read_fasta(cut) end,
      "cnn.data.sequence.read_fasta: " .. cut .. ": line 3: record 's2' has no sequence (is the file truncated?)")
    local cut2 = file("cut2.fa", ">s1\nACGT\n>s2")
    H.errors(function() seq.read_fasta(cut2) end, cut2 .. ": line 3: record 's2' has no sequence")
    local mid = file("mid.fa", ">s1\n\n>s2\nACGT\n")
    H.errors(function() seq.read_fasta(mid) end, mid .. ": line 1: record 's1' has no sequence")
    local ok, e = pcall(function() local ids = seq.read_fasta(cut); return ids end)
    assert.is_false(ok)
    assert.matches("^spec/sequence_spec.lua:%d+: ", e)         -- the caller's line, not the module's
    -- a last line without its newline is complete
    local ids, seqs = seq.read_fasta(file("nonl.fa", ">s1\nACGT\n>s2\nTTGA"))
    assert.are.same({ "s1", "s2" }, ids)
    assert.are.same({ "ACGT", "TTGA" }, seqs)
    H.errors(function() seq.read_fasta(nil) end, "cnn.data.sequence.read_fasta: argument 1 (path): expected a string, got nil")
  end)

  it("one-hot encodes to (N,4,L) with N as 0.25", function()
    local x = seq.one_hot({ "ACGT", "nTaa" })
    assert.are.same({ 2, 4, 4 }, x:size())
    H.close(x[1], { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } }, 0)
    H.close(x[2], { { 0.25, 0, 1, 1 }, { 0.25, 0, 0, 0 }, { 0.25, 0, 0, 0 }, { 0.25, 1, 0, 0 } }, 0)
    H.close(seq.one_hot({ "AB" }, "AB"), { { { 1, 0 }, { 0, 1 } } }, 0)
  end)

  it("refuses unknown letters and ragged lengths", function()
    H.errors(function() seq.one_hot({ "ACGT", "ACGU" }) end,
      "cnn.data.sequence.one_hot: argument 1 (seqs): sequence 2, position 4: unknown letter 'U' (expected one of ACGT or N)")
    H.errors(function() seq.one_hot({ "ACGT", "ACG" }) end,
      "cnn.data.sequence.one_hot: argument 1 (seqs): sequence 2 has length 3, expected 4 (as sequence 1)")
    H.errors(function() seq.one_hot({ "A", 3 }) end, "element 2 is number, expected a string")
    -- the labels of simulate_motif passed on by mistake (one_hot(simulate_motif{...})): the
    -- message names the argument, at the caller's line
    H.errors(function() seq.one_hot({ "ACGT" }, cnn.zeros(2)) end,
      "cnn.data.sequence.one_hot: argument 2 (alphabet): expected a string of letters such as \"ACGT\", got float32 [2]")
    local ok, err = pcall(function() return seq.one_hot({ "ACGT" }, 12) end)
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("sequence_spec.lua:%d+: cnn.data.sequence.one_hot: argument 2 %(alphabet%)"))
  end)
end)
