"""The device-side decision of `scan --remote` on photographed documents and landscapes: which photos
would be sent (public) and which stay (private), against what they are.

Documents: generated at run time (tests/document_factory.py: passport pages with an MRZ, bank cards with
Luhn-valid numbers, ID cards, letters with an IBAN, printed pages; on a table, at an angle, blurred), and
the real text photos of ../shared/data/immich-assets/albums/text. Landscapes: the nature album of
immich-assets, the landscape/building classes of imagenet-samples, and every 10th food101 photo
(public photos that are neither). The rule's thresholds (galprof/server/send_policy.py) were chosen on
generated documents of seed 5, the nature album and 4 of the imagenet landscapes; report other seeds.
Also reports what a local scan's privacy rule (classifier-gated OCR) says of the same photos.

    .venv/bin/python benchmarks/remote_privacy.py [--per-kind 4] [--seed 2026] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from galprof.analysis.privacy import PrivacyJudge
from galprof.config import Settings
from galprof.facts import MediaFacts
from galprof.media.decode import decode_image
from galprof.server.client import RemoteAnalyzer
from galprof.server.send_policy import keep_reason
from galprof.server.tier import fine_face_detector
from galprof.vision.analyzer import FrameAnalyzer
from tests.document_factory import photographed_documents

DATA = ROOT.parent / "shared" / "data"
LANDSCAPE_CLASSES = ("castle", "dam", "cliff", "lakeside", "seashore", "monastery", "viaduct")


def photo_sets(per_kind: int, seed: int, folder: Path, food_step: int = 10) -> list[tuple[str, str, Path]]:
    """[(truth, group, path)]: truth is "private" for documents, "public" for landscapes."""
    items = []
    for i, (kind, data) in enumerate(photographed_documents(per_kind, seed)):
        path = folder / f"doc{i:02d}.jpg"
        path.write_bytes(data)
        items.append(("private", f"generated {kind}", path))
    for path in sorted((DATA / "immich-assets/albums/text").glob("*.jpg")):
        items.append(("private", "real text photo", path))
    for path in sorted((DATA / "immich-assets/albums/nature").glob("*.jpg")):
        items.append(("public", "nature (immich)", path))
    for path in sorted((DATA / "imagenet-samples").glob("*.JPEG")):
        if path.stem.split("_", 1)[1] in LANDSCAPE_CLASSES:
            items.append(("public", "landscape (imagenet)", path))
    for path in sorted((DATA / "food101").glob("*/*.jpg"))[::food_step]:
        items.append(("public", "food (food101)", path))
    return items


class NoServer:
    """Stands in for the link: records what would be sent, sends nothing."""

    max_side = 1024

    def __init__(self):
        self.sent = 0

    def analyze(self, body, timestamp):
        from galprof.server.link import RemoteFailure

        self.sent += 1
        raise RemoteFailure("benchmark: not sent")


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (tesseract runs as a child process)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-kind", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    settings = Settings(workers=1)
    local = FrameAnalyzer(settings, threads=1)
    fine = fine_face_detector(settings.face_detector, 1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for truth, group, path in photo_sets(args.per_kind, args.seed, Path(tmp)):
            rgb = decode_image(str(path), settings.max_side).rgb
            t0 = _cpu_seconds()
            link = NoServer()
            facts = RemoteAnalyzer(local, link, settings, fine).analyze(rgb)
            seconds = _cpu_seconds() - t0
            plain = local.analyze(rgb)  # what a local scan stores: OCR only where the classifier sees text
            judge = PrivacyJudge(settings)
            scan_status = judge.judge(MediaFacts(str(path), "photo", "jpeg", 0, 0, frames=[plain])).status
            reason = keep_reason(facts, settings)
            rows.append({"truth": truth, "group": group, "path": path.name if "doc" in path.name else str(path),
                         "sent": link.sent > 0, "device_decision": "private" if reason else "public",
                         "reason": reason, "local_scan_status": scan_status, "cpu_s": round(seconds, 2)})
            print(f"{truth:7} {group:24} {'SENT' if link.sent else 'kept':5} {reason or '':45} "
                  f"local-scan={scan_status:7} {path.name}", file=sys.stderr)
    report = summarise(rows)
    report["settings"] = {"per_kind": args.per_kind, "seed": args.seed}
    report["rows"] = rows
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def summarise(rows: list[dict]) -> dict:
    groups: dict[str, dict] = {}
    for row in rows:
        g = groups.setdefault(row["group"], {"photos": 0, "sent": 0, "local_scan_private": 0, "cpu_s": 0.0})
        g["photos"] += 1
        g["sent"] += row["sent"]
        g["local_scan_private"] += row["local_scan_status"] == "private"
        g["cpu_s"] += row["cpu_s"]
    for g in groups.values():
        g["cpu_s_per_photo"] = round(g.pop("cpu_s") / g["photos"], 2)
    private = [r for r in rows if r["truth"] == "private"]
    public = [r for r in rows if r["truth"] == "public"]
    return {
        "documents_sent": sum(r["sent"] for r in private), "documents": len(private),
        "landscapes_kept": sum(not r["sent"] for r in public), "landscapes": len(public),
        "groups": groups,
    }


if __name__ == "__main__":
    main()
