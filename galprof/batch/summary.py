"""summary.csv: one row per gallery of a batch, read off its profile (or the reason it failed)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from galprof.render.output import write_output

COLUMNS = ("gallery", "status", "photos", "videos", "people", "owner_age", "owner_gender", "top_interests",
           "errors", "seconds", "message")


def row_of_profile(name: str, document: dict, status: str) -> dict:
    """status: done (profiled now) or skipped (its profile was already in OUTDIR)."""
    gallery, owner = document.get("gallery", {}), document.get("owner", {})
    timings = document.get("timings", {})
    seconds = (timings.get("scan", {}).get("total") or 0.0) + (timings.get("profile", {}).get("total") or 0.0)
    age = owner.get("age")
    return {"gallery": name, "status": status, "photos": gallery.get("photos", 0), "videos": gallery.get("videos", 0),
            "people": len(document.get("people", [])), "owner_age": "" if age is None else round(age, 1),
            "owner_gender": owner.get("gender") or "",
            "top_interests": " ".join(document.get("interests", {}).get("top", [])),
            "errors": len(document.get("errors", [])), "seconds": round(seconds, 3), "message": ""}


def row_of_failure(name: str, message: str, seconds: float) -> dict:
    row = dict.fromkeys(COLUMNS, "")
    row.update(gallery=name, status="failed", seconds=round(seconds, 3), message=message)
    return row


def write_summary(rows: list[dict], path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: r["gallery"]):
        writer.writerow(row)
    write_output(buffer.getvalue(), path)


def read_summary(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
