"""The terminal view of a profile document (rich): interest bars, people and the demography histogram,
the owner, places, the privacy summary and errors, close to what the paper's app showed.

It reads only the document, so `galprof show PROFILE` renders a saved profile exactly as a scan does.
Every string from the document goes through `data_text` (shown literally, never as markup or escapes).
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from galprof.render.output import stdout_stream, write_stdout
from galprof.render.safe import data_text

BAR_WIDTH = 20


def _bar(fraction: float, width: int = BAR_WIDTH, style: str = "cyan") -> Text:
    fraction = max(0.0, min(1.0, fraction))
    full = round(fraction * width)
    return Text("█" * full, style=style) + Text("·" * (width - full), style="grey35")


def summary_panel(doc: dict[str, Any]) -> Panel:
    g = doc["gallery"]
    dr = g.get("date_range", {})
    lines = [
        data_text(g.get("root") or "gallery", style="bold"),
        data_text(f"{g['photos']} photos, {g['videos']} videos ({g['frames']} frames analyzed), "
                  f"{g['failed']} failed, {g.get('with_faces', 0)} with faces, {g.get('with_gps', 0)} with GPS"),
        data_text(f"taken {dr.get('first') or '?'} .. {dr.get('last') or '?'}"),
        data_text("formats: " + (", ".join(f"{k} {v}" for k, v in g["formats"].items()) or "-")),
        data_text("devices: " + (", ".join(f"{d['device']} ({d['media']})" for d in g["devices"][:5]) or "-")),
    ]
    return Panel(Text("\n").join(lines), title="galprof profile", border_style="blue")


def interests_table(doc: dict[str, Any], limit: int = 14) -> Table:
    table = Table(title="Interests", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("category", no_wrap=True, min_width=12, max_width=18)
    table.add_column("share", justify="right", no_wrap=True, min_width=5)
    table.add_column("", no_wrap=True, min_width=BAR_WIDTH)
    table.add_column("photos", justify="right", no_wrap=True, min_width=6)
    table.add_column("evidence", overflow="ellipsis", max_width=48)
    cats = doc["interests"]["categories"][:limit]
    top = max((c["share"] for c in cats), default=0.0) or 1.0
    for c in cats:
        evidence = ", ".join(f"{e['label']} ({e['photos']})" for e in c["evidence"]["classes"][:3])
        table.add_row(data_text(c["label"]), f"{c['share'] * 100:.0f}%", _bar(c["share"] / top, BAR_WIDTH),
                      str(c["photos"]), data_text(evidence))
    if not cats:
        table.add_row("(none found)", "", "", "", "")
    return table


def people_table(doc: dict[str, Any], limit: int = 10) -> Table:
    table = Table(title="People", title_justify="left", show_edge=False, pad_edge=False)
    for col in ("id", "photos", "days", "age", "gender", "close"):
        table.add_column(col, justify="right" if col in ("id", "photos", "days", "age") else "left")
    for p in doc["people"][:limit]:
        age = p.get("age")
        named = f'{p["id"]} {p["name"]}' if p.get("name") else str(p["id"])  # `galprof people name`
        table.add_row(data_text(named), str(p.get("photos", "")), str(p.get("days_seen", "")),
                      "" if age is None else f"{age:.0f}", data_text(p.get("gender") or "?"), "yes" if p.get("close") else "")
    if not doc["people"]:
        table.add_row("-", "", "", "", "", "")
        table.caption = data_text(f"(no face seen {doc['settings'].get('cluster_min_size', 3)}+ times)")
        table.caption_justify = "left"
    return table


def demography_table(doc: dict[str, Any]) -> Table:
    demo = doc["demography"]
    table = Table(title="Demography (people per age range)", title_justify="left", show_edge=False,
                  pad_edge=False)
    table.add_column("age")
    counts = demo.get("counts", {})
    genders = list(counts)
    peak = max((n for g in genders for n in counts[g].values()), default=0) or 1
    for g in genders:
        table.add_column(data_text(g))
    for age in demo.get("age_ranges", []):
        cells = []
        for g in genders:
            n = counts[g].get(age, 0)
            style = "magenta" if g == "female" else "green"
            cells.append(_bar(n / peak, 12, style) + Text(f" {n}"))
        table.add_row(data_text(age), *cells)
    return table


def owner_text(doc: dict[str, Any]) -> Text:
    o = doc["owner"]
    if o.get("person_id") is None:
        return data_text(f"Owner: {o.get('message') or o.get('status')}", style="yellow")
    age = o.get("age")
    return data_text(f"Owner: person {o['person_id']}, {o.get('gender') or '?'}, "
                f"age {'?' if age is None else f'{age:.0f}'} (confidence {o.get('confidence')})", style="bold")


def places_table(doc: dict[str, Any], limit: int = 8) -> Table:
    pl = doc["places"]
    home = pl.get("home")
    title = data_text("Places" + (f" - home: {home['city']}, {home['country']} ({home['days']} photo-days)"
                                  if home else ""))
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for col in ("city", "region", "country", "photos", "days"):
        table.add_column(col, justify="right" if col in ("photos", "days") else "left")
    for c in pl["cities"][:limit]:
        table.add_row(data_text(c["city"]), data_text(c.get("admin1", "")), data_text(c["country"]),
                      str(c["photos"]), str(c["days"]))
    if not pl["cities"]:
        table.add_row("(no GPS tags)", "", "", "", "")
    return table


def privacy_text(doc: dict[str, Any]) -> Text:
    pr = doc["privacy"]
    counts = pr["counts"]
    total = counts["public"] + counts["private"]
    text = Text("Privacy: ", style="bold")
    text += Text(f"{counts['private']} private", style="red") + Text(f" / {counts['public']} public")
    if total:
        text += Text(f" ({counts['private'] / total * 100:.0f}% private)")
    if pr["by_rule"]:
        text += data_text("  by rule: " + ", ".join(f"{k} {v}" for k, v in pr["by_rule"].items()))
    ocr = pr["rules"]["ocr"]
    if not ocr["enabled"]:
        text += Text("\n") + data_text(f"OCR rule {ocr.get('note') or 'disabled'}", style="yellow")
    left = pr.get("left_device") or {}
    if left.get("photos") or pr.get("kept_on_device"):  # scan --remote (absent in older profiles)
        kept = ", ".join(f"{k} {v}" for k, v in pr.get("kept_on_device", {}).items())
        text += Text("\n") + data_text(f"Sent to your server: {left.get('photos', 0)} photos "
                                       f"({left.get('frames', 0)} frames); kept here: {kept or 'none'}")
    return text


def errors_text(doc: dict[str, Any], limit: int = 10) -> Text | None:
    errors = doc["errors"]
    if not errors:
        return None
    text = Text(f"{len(errors)} file(s) failed:\n", style="red")
    for e in errors[:limit]:
        text += data_text(f"  {e['path']}: {e['stage']}: {e['reason']}") + Text("\n")
    if len(errors) > limit:
        text += Text(f"  ... and {len(errors) - limit} more\n")
    return text


def print_to_stdout(renderable: Any) -> None:
    """Print to stdout through the output writer (OutputError when stdout is closed or full), styled
    for stdout's terminal, plain into a pipe or file."""
    real = Console(file=stdout_stream())  # only asked what stdout is: a terminal, its width, colours
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=real.is_terminal, color_system=real.color_system, width=real.width,
            no_color=real.no_color).print(renderable)
    write_stdout(buffer.getvalue())


def render_to_stdout(doc: dict[str, Any]) -> None:
    """The terminal view of a profile document on stdout."""
    print_to_stdout(view(doc))


def view(doc: dict[str, Any]) -> Group:
    """The terminal view of a profile document."""
    from galprof.render.learned import events_table, learned_table

    parts: list[Any] = [summary_panel(doc), interests_table(doc), Text("")]
    parts += [t for table in (learned_table(doc), events_table(doc)) if table is not None for t in (table, Text(""))]
    parts += [people_table(doc), Text(""), demography_table(doc), owner_text(doc), Text(""), places_table(doc),
              Text(""), privacy_text(doc)]
    err = errors_text(doc)
    if err is not None:
        parts.append(err)
    return Group(*parts)


def render(doc: dict[str, Any], console: Console | None = None) -> None:
    """Print the terminal view of a profile document (to stdout unless a console is given)."""
    (console or Console()).print(view(doc))


def photos_table(rows: list[dict[str, Any]], title: str) -> Table:
    """The photos behind a category or a person (`galprof photos --format table`)."""
    table = Table(title=data_text(title), title_justify="left", show_edge=False, pad_edge=False)
    for col in ("path", "taken", "privacy", "categories"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(data_text(r["path"]), data_text((r.get("taken_at") or "")[:10]),
                      data_text(r["privacy"]["status"]), data_text(", ".join(sorted(r.get("categories", {})))))
    return table
