-- cnn.data.sequence: DNA sequences from FASTA or plain text (one sequence per line) and their
-- one-hot encoding (C, lua_data.c). Spec: sequence_spec.lua.
local cnn = require "cnn"
local D = cnn._data
local sequence = {}

-- read_fasta(path) -> ids, seqs (tables of strings). Without any '>' header line, every
-- non-empty line is a sequence and its id is its line number. Letters: A C G T N (any case).
function sequence.read_fasta(path, opts)
  opts = opts or {}
  local bad = "[^" .. (opts.alphabet or "ACGTN") .. (opts.alphabet or "ACGTN"):lower() .. "]"
  local f, err = io.open(path, "rb")
  if not f then error(("cnn.data.sequence.read_fasta: %s: cannot open: %s"):format(path, err), 2) end
  local text = f:read("a")
  f:close()
  local ids, seqs, parts, fasta = {}, {}, nil, text:match("^%s*>") ~= nil
  local ln = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    ln = ln + 1
    line = line:gsub("\r$", "")
    if fasta and line:sub(1, 1) == ">" then
      if parts then seqs[#seqs + 1] = table.concat(parts) end
      ids[#ids + 1] = line:match("^>%s*(%S*)")
      parts = {}
    elseif line:match("%S") then
      line = line:gsub("%s+$", "")
      local col = line:find(bad)
      if col then
        error(("cnn.data.sequence.read_fasta: %s: line %d, column %d: unknown base '%s' (expected one of %s)")
          :format(path, ln, col, line:sub(col, col), opts.alphabet or "ACGTN"), 2)
      end
      if fasta then parts[#parts + 1] = line
      else ids[#ids + 1] = tostring(ln); seqs[#seqs + 1] = line end
    end
  end
  if parts then seqs[#seqs + 1] = table.concat(parts) end
  return ids, seqs
end

-- one_hot(seqs [, "ACGT"]) -> float32 (N, 4, L); N (not in the alphabet) is 0.25 in every row
function sequence.one_hot(seqs, alphabet) return D.one_hot(seqs, alphabet) end

return sequence
