-- cnn.genomics (DNA part): the pictures of saliency and mutagenesis, drawn by cnn.plot (plot.logo,
-- plot.diverging_heatmap). Spec: spec/genomics_dna_spec.lua; docs/genomics.md.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local M = {}

local function seq_arg(fn, s)
  if type(s) ~= "string" or s == "" or s:find("[^ACGTNacgtn]") then A.fail(fn, 1, "seq", "a non-empty string of A, C, G, T, N", s) end
  return s
end

-- plot_saliency(seq, scores, path [, {title=, highlight = {from, to}}]): the sequence's letters,
-- each as tall as its score (scores: L values, a row of cnn.genomics.saliency); highlight shades
-- a span of positions (the planted motif)
function M.plot_saliency(seq, scores, path, opts)
  local fn = "cnn.genomics.plot_saliency"
  seq_arg(fn, seq)
  opts = A.opts(fn, 4, opts, { "title", "highlight" })
  return A.call_as(fn, cnn.plot.logo, seq, scores, path, { title = opts.title or "Saliency (gradient x input)",
    ylabel = "saliency", xlabel = "position", highlight = opts.highlight })
end

-- plot_mutagenesis(seq, effects, path [, {title=, limit=}]): a 4 x L heat map of the score
-- changes (effects: (4, L) or (1, 4, L), a row of cnn.genomics.mutagenesis), blue where a
-- substitution lowers the score, red where it raises it; the reference bases carry a dot
function M.plot_mutagenesis(seq, effects, path, opts)
  local fn = "cnn.genomics.plot_mutagenesis"
  seq_arg(fn, seq)
  A.tensor(fn, 2, "effects", effects)
  if effects:dim() == 3 and effects:size(1) == 1 then effects = effects:select(1, 1) end
  if effects:dim() ~= 2 or effects:size(1) ~= 4 or effects:size(2) ~= #seq then
    A.fail(fn, 2, "effects", ("a tensor [4,%d] (4 bases x the sequence's length)"):format(#seq), effects)
  end
  opts = A.opts(fn, 4, opts, { "title", "limit" })
  local marks = cnn.data.sequence.one_hot({ seq }):select(1, 1):eq(1)
  return A.call_as(fn, cnn.plot.diverging_heatmap, effects, path, { title = opts.title or "In-silico mutagenesis",
    row_labels = { "A", "C", "G", "T" }, col_labels = seq, marks = marks, limit = opts.limit,
    xlabel = "position (reference base; dots mark it in the map)", ylabel = "substituted base" })
end

return M
