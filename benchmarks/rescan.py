"""First scan against re-scan of an unchanged folder of N small photos (default 1 000).

The photos are generated (smooth random gradients with noise and a few shapes, 640x480 JPEG with camera
EXIF), so the benchmark needs no data set. The first scan analyses every photo into a fresh cache; the
re-scan of the unchanged folder should only list and stat the files, read the cache and reuse the stored
profile (both scans are timed with the profile step, as `galprof scan` runs them):

    .venv/bin/python benchmarks/rescan.py --count 1000 --json rescan.json

Prints a one-line summary on stderr and the JSON report on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def make_photos(dest: Path, count: int, size: tuple[int, int] = (640, 480), seed: int = 0) -> list[Path]:
    """`count` distinct small JPEGs in dest (existing ones are kept, so a second run reuses them)."""
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    made = []
    for i in range(count):
        path = dest / f"IMG_{i:05d}.jpg"
        made.append(path)
        colours = rng.uniform(0, 255, (3, 3))
        if path.is_file():
            continue
        base = (colours[0] * (xx / w)[..., None] + colours[1] * (yy / h)[..., None]
                + colours[2] * (1 - xx / w)[..., None]) / 2
        pixels = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
        image = Image.fromarray(pixels)
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x, y = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 60))
            draw.ellipse((x, y, x + int(rng.integers(20, 60)), y + int(rng.integers(20, 60))),
                         fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "galprof", "rescan benchmark"
        exif[0x0132] = f"2024:{1 + i % 12:02d}:{1 + i % 28:02d} 10:00:00"
        image.save(path, "JPEG", quality=85, exif=exif)
    return made


def main(argv: list[str] | None = None) -> dict:
    from galprof.bench import bench_scan, hardware_info, library_versions, peak_rss
    from galprof.config import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "galprof-rescan",
                        help="where the photos are generated (kept for later runs)")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    folder = args.dir / f"{args.count}"
    make_photos(folder, args.count)
    with tempfile.TemporaryDirectory(prefix="galprof-rescan-cache-") as work:
        scan = bench_scan(folder, Settings(workers=args.workers), Path(work),
                          progress=lambda m: print(m, file=sys.stderr))
    report = {"photos": args.count, "folder": str(folder), "scan": scan, "memory": peak_rss(),
              "hardware": hardware_info(), "versions": library_versions()}
    print(f"{args.count} photos: first scan {scan['first']['wall_s']:.1f} s "
          f"({scan['first']['files_per_s']} photos/s), re-scan {scan['rescan']['wall_s']:.2f} s "
          f"({scan['rescan']['scan_s']:.3f} s scan + {scan['rescan']['profile_s']:.3f} s profile), "
          f"ratio {scan['first_over_rescan']}x", file=sys.stderr)
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return report


if __name__ == "__main__":
    main()
