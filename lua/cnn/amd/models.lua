-- cnn.amd's models layer: filled in by the AMD models issue.
return {}
