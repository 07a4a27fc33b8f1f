"""CPU time of the selfie check per photo: `galprof selfie`'s steps, and what the flag adds to a scan.

On a fixed mix of real photos (close-ups that pass the gate, people from afar and photos without
people that do not), one onnxruntime thread, CPU time (user + sys of this process) per step:
decode, face detector, and the selfie models (iris + person mask, only for photos whose largest face
passes the gate). A scan already runs the decoder and the detector, so the flag adds only the last step.

    flock /tmp/galprof-cpu.lock nice -n 5 .venv/bin/python benchmarks/selfie_cost.py --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def photo_mix(data: Path, per_source: int) -> list[Path]:
    sources = [sorted((data / "utkface").glob("*.jpg"))[1::50], sorted((data / "lfw").glob("*/*_0002.jpg")),
               sorted((data / "events").glob("*/*/*.jpg"))[1::10], sorted((data / "food101").glob("*/*.jpg"))[1::20],
               sorted((data / "phones").glob("*.jpg"))]
    return [p for files in sources for p in files[:per_source]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--per-source", type=int, default=12)
    args = parser.parse_args(argv)
    from galprof.commands.selfie import SelfieChecker
    from galprof.media.decode import decode_image
    from galprof.vision.align import as_image
    from galprof.vision.selfie_cues import largest_plausible

    checker = SelfieChecker(threads=1)
    photos = photo_mix(args.data, args.per_source)
    checker.frame_facts(decode_image(str(photos[0])).rgb)  # warm-up: first runs allocate
    spent = {"decode": 0.0, "detector": 0.0, "selfie_models": 0.0}
    gated = 0
    for path in photos:
        t0 = time.process_time()
        image = as_image(decode_image(str(path)).rgb)
        t1 = time.process_time()
        faces = checker.faces(image)
        t2 = time.process_time()
        gated += largest_plausible(faces, image.width, image.height) is not None
        checker.meter.measure(image, faces)  # returns at once when the gate says no
        t3 = time.process_time()
        spent["decode"] += t1 - t0
        spent["detector"] += t2 - t1
        spent["selfie_models"] += t3 - t2
    n = len(photos)
    report = {
        "photos": n, "passed_gate": gated,
        "cpu_ms_per_photo": {k: round(1000 * v / n, 2) for k, v in spent.items()},
        "selfie_models_cpu_ms_per_gated_photo": round(1000 * spent["selfie_models"] / max(1, gated), 2),
        "command_cpu_ms_per_photo": round(1000 * sum(spent.values()) / n, 2),
    }
    json.dump(report, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
