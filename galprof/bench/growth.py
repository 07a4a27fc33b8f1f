"""How a scan's costs grow with the gallery, measured at real sizes on the development machine, and
the estimate for N photos that `galprof bench --estimate N` prints from them.

A bench scan sees a few dozen files: enough for the per-file rate of the analysis (each file is
analysed on its own, so that part is linear), not for the profile step, whose people clustering grows
faster than the gallery and whose cost at a few dozen files is mostly fixed. So the estimate takes the
profile step from the curve measured at 2 000-100 000 photos (power laws between the measured sizes,
the last exponent beyond them), scaled to the user's machine by the ratio of its steady CPU per file to
the one measured with that curve. Every point is a measurement, listed in benchmarks/README.md with the
command that made it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Curve:
    """Measured (photos, seconds) points of one cost, sizes ascending."""

    points: tuple[tuple[int, float], ...]
    source: str

    def at(self, n: int) -> float:
        """The cost at n photos: power law between the two measured sizes around n (the nearest two
        outside them), i.e. the measured growth exponent, never a line through the origin."""
        pts = self.points
        if len(pts) == 1:
            return pts[0][1] * n / pts[0][0]
        k = next((i for i in range(1, len(pts)) if n <= pts[i][0]), len(pts) - 1)
        n0, t0 = pts[k - 1]
        return t0 * (n / n0) ** self.exponent(k)

    def exponent(self, k: int) -> float:
        (n0, t0), (n1, t1) = self.points[k - 1], self.points[k]
        return math.log(t1 / t0) / math.log(n1 / n0)


# The profile step of a first scan (CPU s, build + JSON): benchmarks/profile_scale.py --photos
# 20000,100000 on caches of synthetic rows (people clustering, aggregation, JSON), 2026-12-01, the 2-core
# development machine: 19.59 + 0.47 and 170.06 + 2.19 s, exponent 1.34.
PROFILE_FIRST = Curve(((20000, 20.06), (100000, 172.25)),
                      "benchmarks/profile_scale.py (CPU s, 2026-12-01, development machine)")
# The yardstick that scales the curve to another machine: `galprof bench`'s steady CPU ms per file on its
# built-in set, on the same machine (benchmarks/README.md, "Scanning").
REFERENCE_CPU_MS_PER_FILE = 138.0


# The unchanged re-scan grows with the files it looks up and the stored profile it reads back, both
# linear. gallery_scale measured 0.34 (CPU) for the CLI between 2 000 and 5 000 photos, where Python's
# start-up dominates; bench times the re-scan in process, without that fixed part, so 1 is kept.
RESCAN_EXPONENT = 1.0


def profile_seconds(n: int, cpu_ms_per_file: float | None) -> tuple[float, str]:
    """The profile step at n photos on a machine whose steady scan costs `cpu_ms_per_file`."""
    factor = cpu_ms_per_file / REFERENCE_CPU_MS_PER_FILE if cpu_ms_per_file else 1.0
    return PROFILE_FIRST.at(n) * factor, PROFILE_FIRST.source


def estimate(n_photos: int, scan: dict | None, stage_ms: float | None, workers: int) -> dict:
    """Time for a gallery of n photos: the measured scan's start-up and steady per-file rate (linear)
    plus the profile step from its measured growth; without a scan, the per-frame analysis latency
    spread over the workers (decode and I/O not included then)."""
    if scan and scan.get("first", {}).get("files") and scan["first"]["wall_s"]:
        first = scan["first"]
        files = first["files"]
        if scan.get("steady_scan_s_per_file"):
            analysis = scan["startup"]["scan_s"] + n_photos * scan["steady_scan_s_per_file"]
            basis = "measured scan: start-up + steady s/file"
        else:
            analysis = n_photos * first["scan_s"] / files
            basis = "measured scan: s/file"
        profile, source = profile_seconds(n_photos, scan.get("steady_cpu_ms_per_file"))
        seconds = analysis + profile
        # an unchanged re-scan: every file looked up, the stored profile read back
        rescan = scan["rescan"]["wall_s"] * (n_photos / max(1, scan["rescan"]["files"])) ** RESCAN_EXPONENT
        out = {"photos": n_photos, "basis": f"{basis}; profile step by its measured growth ({source})",
               "seconds": round(seconds, 0), "hours": round(seconds / 3600, 2),
               "analysis_seconds": round(analysis, 0), "profile_seconds": round(profile, 0),
               "profile_exponent": round(PROFILE_FIRST.exponent(len(PROFILE_FIRST.points) - 1), 2),
               "rescan_seconds": round(rescan, 1), "rescan_exponent": RESCAN_EXPONENT}
        if scan.get("steady_idle_cores_files_per_s"):
            # the same from CPU time: what the gallery takes when nothing else runs on the machine
            out["idle_cores_seconds"] = round(
                scan["startup"]["wall_s"] + n_photos / scan["steady_idle_cores_files_per_s"] + profile, 0)
        return out
    if stage_ms:
        seconds = n_photos * stage_ms / 1000 / max(1, workers)
        return {"photos": n_photos, "basis": "frame analyzer latency / workers (no decode, no I/O)",
                "seconds": round(seconds, 0), "hours": round(seconds / 3600, 2)}
    return {"photos": n_photos, "skipped": "neither a scan nor a stage was measured"}


