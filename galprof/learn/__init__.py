"""Learned profiles: attention over a gallery (the paper's eqs. 1-3) and event recognition (Algorithm 2).

Training needs only numpy (and `onnx` from the `train` extra to write an aggregator file); applying a
model at scan time needs only onnxruntime (aggregator) or numpy (events).
"""
