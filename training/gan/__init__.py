"""CycleGAN and UNIT generalizers: models, unpaired training, ONNX export (torch only here)."""
