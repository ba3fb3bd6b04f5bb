-- cnn.genomics: CNNs on DNA sequences (cnn.genomics.dna: motifs, saliency, mutagenesis) and genomic
-- prediction from SNP matrices (cnn.genomics.prediction: GRM, GBLUP, ridge, networks). docs/genomics.md
-- is the reference.
return require "cnn._merge" ("cnn.genomics", { "cnn.genomics.dna", "cnn.genomics.prediction" })
