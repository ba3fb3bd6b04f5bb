-- cnn.amd.snps: the 52 AMD-associated variants the simulator draws, in the column order of the
-- genotype files it writes (genome order). Loci and rsIDs follow Fritsche et al. 2016 (Nat Genet
-- 48:134) as recalled, not checked against the paper's table; chromosome, position (GRCh37, approximate),
-- alleles, frequencies and effects are illustrative values chosen for the simulator (docs/amd.md).
-- `allele` is the counted (minor) allele, `other` the second one; `freq` its frequency;
-- `effect` its log-rate of progression per copy in the simulator (negative: protective).
-- rs570618 tags CFH Y402H (rs1061170) and rs3750846 tags ARMS2 A69S (rs10490924).
local L = {
  -- id, gene, chr, pos, allele, other, freq, effect
  { "rs10922109", "CFH", 1, 196704632, "A", "C", 0.42, -0.24 },
  { "rs570618", "CFH", 1, 196657064, "T", "G", 0.36, 0.76 },
  { "rs121913059", "CFH", 1, 196716375, "T", "C", 0.0008, 2.40 },
  { "rs148553336", "CFH", 1, 196613173, "T", "C", 0.004, -0.60 },
  { "rs187328863", "CFH", 1, 196380158, "T", "C", 0.012, 0.40 },
  { "rs61818925", "CFH", 1, 196815450, "T", "G", 0.39, -0.16 },
  { "rs35292876", "CFH", 1, 196706554, "T", "C", 0.015, -0.40 },
  { "rs191281603", "CFH", 1, 196958651, "G", "C", 0.007, 0.60 },
  { "rs3750846", "ARMS2/HTRA1", 10, 124215565, "C", "T", 0.30, 1.00 },
  { "rs116503776", "C2/CFB/SKIV2L", 6, 31930462, "A", "G", 0.09, -0.50 },
  { "rs114254831", "C2/CFB/SKIV2L", 6, 31853482, "A", "G", 0.013, 0.30 },
  { "rs144629244", "C2/CFB/SKIV2L", 6, 31937049, "T", "C", 0.011, -0.40 },
  { "rs181705462", "C2/CFB/SKIV2L", 6, 31899651, "A", "C", 0.004, -0.50 },
  { "rs429608", "C2/CFB/SKIV2L", 6, 31928306, "A", "G", 0.14, -0.20 },
  { "rs2230199", "C3", 19, 6718387, "G", "C", 0.20, 0.36 },
  { "rs147859257", "C3", 19, 6718146, "G", "T", 0.004, 1.20 },
  { "rs12019136", "C3", 19, 6710782, "A", "G", 0.07, -0.20 },
  { "rs62358361", "C9", 5, 39327888, "T", "G", 0.006, 1.00 },
  { "rs10033900", "CFI", 4, 110659067, "C", "T", 0.48, 0.12 },
  { "rs141853578", "CFI", 4, 110685820, "T", "C", 0.002, 1.20 },
  { "rs429358", "APOE", 19, 45411941, "C", "T", 0.13, -0.30 },
  { "rs73036519", "APOE", 19, 45413576, "C", "G", 0.30, -0.10 },
  { "rs2043085", "LIPC", 15, 58680178, "C", "T", 0.38, -0.12 },
  { "rs2070895", "LIPC", 15, 58723939, "A", "G", 0.24, 0.12 },
  { "rs5817082", "CETP", 16, 56997349, "A", "C", 0.24, 0.12 },
  { "rs17231506", "CETP", 16, 56994528, "T", "C", 0.31, 0.16 },
  { "rs5754227", "SYN3/TIMP3", 22, 33105817, "C", "T", 0.12, -0.20 },
  { "rs943080", "VEGFA", 6, 43826627, "C", "T", 0.48, -0.10 },
  { "rs62247658", "ADAMTS9-AS2", 3, 64715155, "C", "T", 0.43, 0.10 },
  { "rs140647181", "COL8A1", 3, 99180668, "C", "T", 0.02, 0.40 },
  { "rs55975541", "COL8A1", 3, 99461646, "C", "A", 0.11, 0.10 },
  { "rs11884770", "COL4A3", 2, 228086920, "T", "C", 0.27, -0.10 },
  { "rs8135665", "SLC16A8", 22, 38476276, "T", "C", 0.20, 0.12 },
  { "rs1626340", "TGFBR1", 9, 101923372, "A", "G", 0.20, -0.10 },
  { "rs61985136", "RAD51B", 14, 68769199, "C", "T", 0.37, -0.10 },
  { "rs2842339", "RAD51B", 14, 68974137, "G", "A", 0.10, -0.12 },
  { "rs9564692", "B3GALTL", 13, 31821240, "T", "C", 0.30, -0.10 },
  { "rs2740488", "ABCA1", 9, 107661742, "C", "A", 0.27, -0.10 },
  { "rs79037040", "TNFRSF10A", 8, 23082971, "G", "T", 0.45, -0.10 },
  { "rs61941274", "ACAD10", 12, 112132610, "A", "G", 0.02, 0.30 },
  { "rs142450006", "MMP9", 20, 44614991, "T", "C", 0.14, -0.12 },
  { "rs72802342", "CTRB2/CTRB1", 16, 75234872, "A", "C", 0.07, -0.16 },
  { "rs7803454", "PILRB/PILRA", 7, 99991548, "T", "C", 0.20, 0.10 },
  { "rs1142", "KMT2E/SRPK2", 7, 104756326, "T", "C", 0.36, 0.08 },
  { "rs71507014", "TRPM3", 9, 73438605, "C", "G", 0.43, 0.08 },
  { "rs6565597", "NPLOC4/TSPAN10", 17, 79526821, "T", "C", 0.38, 0.08 },
  { "rs12357257", "ARHGAP21", 10, 24999593, "A", "G", 0.23, 0.08 },
  { "rs114092250", "PRLR/SPEF2", 5, 35494448, "A", "G", 0.02, -0.30 },
  { "rs201459901", "C20orf85", 20, 56653724, "A", "T", 0.03, -0.24 },
  { "rs10781182", "RORB", 9, 76617720, "T", "G", 0.34, 0.08 },
  { "rs11080055", "TMEM97/VTN", 17, 26649724, "A", "C", 0.47, -0.08 },
  { "rs3130783", "IER3/DDR1", 6, 30774357, "G", "A", 0.21, 0.10 },
}

-- in genome order (chromosome, position): PLINK refuses a .bim whose chromosomes are split
table.sort(L, function(a, b) return a[3] < b[3] or (a[3] == b[3] and a[4] < b[4]) end)
local snps = {}
for i, r in ipairs(L) do
  snps[i] = { id = r[1], gene = r[2], chr = r[3], pos = r[4], allele = r[5], other = r[6], freq = r[7], effect = r[8] }
end
return snps
