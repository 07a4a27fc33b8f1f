"""galprof: a private, on-device gallery profiler."""

__version__ = "0.1.0"
