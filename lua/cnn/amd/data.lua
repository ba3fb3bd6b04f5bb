-- cnn.amd's cohort layer: filled in by the AMD cohort issue.
return {}
