-- DNA sequence CNNs: filled in by the DNA issue.
return {}
