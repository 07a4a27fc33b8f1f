"""Learning from galleries: learned profiles (attention over a gallery, the paper's eqs. 1-3), event
recognition (Algorithm 2), and latent interests shared across many users' profiles (topics).

Training needs only numpy (and `onnx` from the `train` extra to write an aggregator file); applying a
model at scan time needs only onnxruntime (aggregator) or numpy (events).
"""
