-- cnn.genomics, DNA part: the public names of the DNA sequence CNNs (docs/genomics.md), gathered
-- from motif.lua (simulator, reader, the primer's model, filters as PWMs), attribution.lua
-- (saliency, in-silico mutagenesis) and dna_plot.lua (the pictures, through cnn.plot).
local motif = require "cnn.genomics.motif"
local attribution = require "cnn.genomics.attribution"
local plots = require "cnn.genomics.dna_plot"

return {
  simulate_motif = motif.simulate_motif,
  read_labeled = motif.read_labeled,
  motif_cnn = motif.motif_cnn,
  filter_pwms = motif.filter_pwms,
  reverse_complement = motif.reverse_complement,
  motif_match = motif.motif_match,
  saliency = attribution.saliency,
  mutagenesis = attribution.mutagenesis,
  top_window = attribution.top_window,
  plot_saliency = plots.plot_saliency,
  plot_mutagenesis = plots.plot_mutagenesis,
}
