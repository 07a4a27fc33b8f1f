"""galprof: a private, on-device gallery profiler."""

import os

# onnxruntime's PyPI wheels carry Microsoft telemetry: at the first session they write a device id and
# an event queue under $XDG_CACHE_HOME/Microsoft/ and later contact a telemetry host. The variable is
# read when onnxruntime is imported, so it is set here, before any galprof module imports it; spawned
# worker processes inherit it. Forced (not setdefault): nothing of a scan may leave the machine.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

__version__ = "0.1.0"
# The profile document's schema (galprof/schema/; CHANGELOG.md). Here rather than in profile.py so that
# an unchanged re-scan checks its stored profile's key without importing the profile's builders.
PROFILE_SCHEMA_VERSION = "1.2"
