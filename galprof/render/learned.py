"""Terminal tables of the learned interests (`scan --aggregator`) and the gallery's day events."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from galprof.render.safe import data_text

BAR_WIDTH = 20


def _bar(fraction: float) -> str:
    full = round(max(0.0, min(1.0, fraction)) * BAR_WIDTH)
    return "█" * full + "·" * (BAR_WIDTH - full)


def learned_table(doc: dict[str, Any], limit: int = 14) -> Table | None:
    learned = doc.get("interests", {}).get("learned")
    if not learned:
        return None
    title = f"Learned interests ({learned['aggregation']} aggregator {learned['model']}, {learned['media']} photos)"
    table = Table(title=data_text(title), title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("category", no_wrap=True, min_width=12, max_width=18)
    table.add_column("probability", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, min_width=BAR_WIDTH)
    table.add_column("top", no_wrap=True)
    labels = learned.get("labels", {})
    for cat, prob in list(learned["probabilities"].items())[:limit]:
        table.add_row(data_text(labels.get(cat, cat)), f"{prob:.2f}", data_text(_bar(prob)),
                      "●" if cat in learned["top"] else "")
    return table


def events_table(doc: dict[str, Any]) -> Table | None:
    events = (doc.get("events") or {}).get("events")
    if not events:
        return None
    table = Table(title="Day events", title_justify="left", show_edge=False, pad_edge=False)
    for column in ("date", "photos", "category / scene", "confidence", "example"):
        table.add_column(column, overflow="fold")
    for e in events:
        what = (e.get("category") or {}).get("label") or e.get("scene") or ""
        table.add_row(data_text(e["date"]), str(e["photos"]), data_text(what), f"{e['confidence']:.2f}",
                      data_text(e["paths"][0] if e["paths"] else ""))
    return table
