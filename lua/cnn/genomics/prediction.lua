-- genomic prediction: filled in by the genomic prediction issue.
return {}
