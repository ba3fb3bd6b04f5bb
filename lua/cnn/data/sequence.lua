-- cnn.data.sequence: DNA sequences from FASTA or plain text (one sequence per line) and their
-- one-hot encoding (C, lua_data.c). Spec: sequence_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local D = cnn._data
local sequence = {}

-- read_fasta(path) -> ids, seqs (tables of strings). Without any '>' header line, every
-- non-empty line is a sequence and its id is its line number. Letters: A C G T N (any case).
-- A record whose header has no sequence line (a file cut after a header) is an error naming the
-- line; a last line without its newline is accepted.
function sequence.read_fasta(path, opts)
  local fn = "cnn.data.sequence.read_fasta"
  A.str(fn, 1, "path", path)
  opts = A.opts(fn, 2, opts, { "alphabet" })
  if opts.alphabet ~= nil and not (type(opts.alphabet) == "string" and opts.alphabet:match("^%a+$")) then
    A.fail(fn, 2, "options.alphabet", "a string of letters", opts.alphabet)
  end
  local bad = "[^" .. (opts.alphabet or "ACGTN") .. (opts.alphabet or "ACGTN"):lower() .. "]"
  local f, err = io.open(path, "rb")
  if not f then A.error(("%s: %s: cannot open: %s"):format(fn, path, (err:gsub("^.-: ([^:]*)$", "%1")))) end
  local text = f:read("a")
  f:close()
  local ids, seqs, parts, fasta = {}, {}, nil, text:match("^%s*>") ~= nil
  local ln, hline = 0, 0
  local function close_record()
    if not parts then return end
    if #parts == 0 then
      A.error(("%s: %s: line %d: record '%s' has no sequence (is the file truncated?)"):format(fn, path, hline, ids[#ids]))
    end
    seqs[#seqs + 1] = table.concat(parts)
  end
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    ln = ln + 1
    line = line:gsub("\r$", "")
    if fasta and line:sub(1, 1) == ">" then
      close_record()
      ids[#ids + 1] = line:match("^>%s*(%S*)")
      parts, hline = {}, ln
    elseif line:match("%S") then
      line = line:gsub("%s+$", "")
      local col = line:find(bad)
      if col then
        A.error(("%s: %s: line %d, column %d: unknown base '%s' (expected one of %s)")
          :format(fn, path, ln, col, line:sub(col, col), opts.alphabet or "ACGTN"))
      end
      if fasta then parts[#parts + 1] = line
      else ids[#ids + 1] = tostring(ln); seqs[#seqs + 1] = line end
    end
  end
  close_record()
  return ids, seqs
end

-- one_hot(seqs [, "ACGT"]) -> float32 (N, 4, L); N (not in the alphabet) is 0.25 in every row
sequence.one_hot = D.one_hot        -- the C function itself: its errors point at the caller's line

return sequence
