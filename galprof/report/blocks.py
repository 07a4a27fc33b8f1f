"""The HTML of each report section. Every string from the gallery (file names, labels, names, reasons)
is escaped here (`escape`: HTML entities, and control or direction characters written as \\x..); images are references into the page's one image map, filled in by
the page's script only when they come into view (so a closed category costs nothing while loading)."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape as _html_escape
from typing import Any

from galprof.render.safe import safe_text
from galprof.report import charts
from galprof.report.giveaways import Finding, describe, plural
from galprof.report.sections import Category, EventView, PersonView, PrivatePhoto
from galprof.report.thumbs import Thumbnailer


def escape(value: object) -> str:
    """HTML-escaped, with control and bidi characters written visibly (as on the terminal: a file
    name cannot reorder or hide the text around it)."""
    return _html_escape(safe_text(value))


@dataclass
class Images:
    """The page's image map: each distinct URI once, referenced by id from <img data-thumb>."""

    thumbs: Thumbnailer
    kinds: dict[str, str]
    per_grid: int = 24
    uris: dict[str, str] = field(default_factory=dict)  # id -> uri
    _ids: dict[str, str] = field(default_factory=dict)  # uri -> id

    def ref(self, uri: str | None) -> str | None:
        if uri is None:
            return None
        if uri not in self._ids:
            self._ids[uri] = f"t{len(self._ids)}"
            self.uris[self._ids[uri]] = uri
        return self._ids[uri]

    def photo_ref(self, path: str) -> str | None:
        return self.ref(self.thumbs.photo(path, self.kinds.get(path, "photo")))

    def face_ref(self, person: PersonView) -> str | None:
        f = person.face
        return None if f is None else self.ref(self.thumbs.face(f.path, f.kind, f.frame, f.box))


def name_of(path: str) -> str:
    return posixpath.basename(path.replace("\\\\", "/")) or path


def img(ref: str | None, alt: str, cls: str = "thumb", why: str = "not readable") -> str:
    if ref is None:
        return f'<span class="{cls} missing" role="img" aria-label="{escape(alt)} ({escape(why)})">?</span>'
    return f'<img class="{cls}" data-thumb="{ref}" alt="{escape(alt)}" decoding="async">'


def photo_img(images: Images, path: str) -> str:
    ref = images.photo_ref(path)
    return img(ref, "photo " + name_of(path), why=images.thumbs.why_missing(path) if ref is None else "")


def grid(images: Images, paths: list[str], hint: str = "") -> str:
    """Thumbnails of the first `per_grid` paths, each captioned with its file name."""
    shown = paths[:images.per_grid]
    items = "".join(
        f'<li><figure>{photo_img(images, p)}'
        f'<figcaption title="{escape(p)}">{escape(name_of(p))}</figcaption></figure></li>' for p in shown)
    more = (f'<p class="more">{len(shown)} of {len(paths)} shown{escape(hint)}.</p>'
            if len(paths) > len(shown) else "")
    return f'<ul class="grid">{items}</ul>{more}' if shown else '<p class="muted">No photos listed.</p>'


def section(anchor: str, title: str, body: str, intro: str = "") -> str:
    lead = f'<p class="intro">{intro}</p>' if intro else ""
    return (f'<section id="{anchor}" aria-labelledby="{anchor}-h"><h2 id="{anchor}-h">{escape(title)}</h2>'
            f"{lead}{body}</section>")


def giveaways(findings: list[Finding], images: Images) -> str:
    items = []
    for f in findings:
        face = (f'<div class="face-inline">{img(images.face_ref(f.person), "face of " + f.person.title, "face")}</div>'
                if f.person is not None and f.person.face is not None else "")
        photos = ""
        if f.paths:
            which = "The photo that gives" if len(f.paths) == 1 else f"The {len(f.paths)} photos that give"
            photos = (f"<details><summary>{which} it away</summary>"
                      f"{grid(images, f.paths)}</details>")
        items.append(f'<li class="finding"><h3>{escape(f.topic)}</h3>{face}<p>{escape(f.text)}</p>{photos}</li>')
    return f'<ul class="findings">{"".join(items)}</ul>'


def interests(cats: list[Category], images: Images, media: int) -> str:
    if not cats:
        return '<p class="muted">No interest category was found in this gallery.</p>'
    rows = []
    for c in cats:
        subs = "".join(
            f'<details class="sub"><summary><span class="label">{escape(s.label)}</span>'
            f'<span class="num">{plural(s.photos, "photo")}</span></summary>'
            f'{grid(images, s.paths, f"; galprof photos --category {c.id} --subcategory {s.id} lists all")}'
            f"</details>" for s in c.subcategories)
        rows.append(
            f'<details class="cat" data-category="{escape(c.id)}"><summary>'
            f'<span class="label">{escape(c.label)}</span>{charts.share_bar(c.share)}'
            f'<span class="num">{c.share:.0%} &middot; {plural(c.photos, "photo")}</span></summary>'
            f'<div class="panel"><p class="evidence">Seen: {escape(c.evidence or "-")}</p>{subs}'
            f'<h4>{"The photo" if c.photos == 1 else f"All {c.photos} photos"}</h4>'
            f'{grid(images, c.paths, f"; galprof photos --category {c.id} lists all")}</div></details>')
    return (f'<p class="intro">Share of the {media} photos and videos with an interest; '
            f"open a category to see the photos behind it.</p>" + "".join(rows))


def _person_facts(p: PersonView) -> str:
    gender = (f"{p.gender} ({p.gender_confidence:.0%} sure)" if p.gender and p.gender_confidence is not None
              else p.gender or "unknown")
    age = f"about {round(p.age)}" if p.age is not None else "unknown"
    dates = f"{p.first_seen} to {p.last_seen}, {p.days_seen} days" if p.first_seen else "no capture dates"
    rows = [("estimated age", age), ("gender", gender), ("photos", f"{p.photos}" + (f", {plural(p.videos, 'video')}" if p.videos else "")),
            ("seen", dates)]
    return "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)


def people(persons: list[PersonView], images: Images, limit: int = 100) -> str:
    if not persons:
        return '<p class="muted">No person was seen in several photos.</p>'
    cards = []
    for p in persons[:limit]:
        badges = ('<span class="badge owner">owner</span>' if p.is_owner else "") + (
            '<span class="badge">close person</span>' if p.close else "")
        cards.append(
            f'<li class="person{" is-owner" if p.is_owner else ""}">'
            f'{img(images.face_ref(p), "face of " + p.title + ", " + describe(p), "face")}'
            f'<div><h3>{escape(p.title)} {badges}</h3><dl>{_person_facts(p)}</dl>'
            f'<details><summary>Photos of {escape(p.title)}</summary>'
            f'{grid(images, p.paths, f"; galprof photos --person {p.id} lists all")}</details></div></li>')
    more = f'<p class="more">{limit} of {len(persons)} people shown.</p>' if len(persons) > limit else ""
    return f'<ul class="people">{"".join(cards)}</ul>{more}'


def demography(doc: dict[str, Any]) -> str:
    ranges, counts = doc.get("age_ranges") or [], doc.get("counts") or {}
    counted = doc.get("people_counted", sum(sum(v.values()) for v in counts.values()))
    if not ranges or not counted:
        return '<p class="muted">Nobody was seen in enough photos to be counted.</p>'
    note = (f'<p class="intro">{counted} people seen in at least {doc.get("min_photos", 3)} photos, by estimated '
            "age and gender.</p>")
    return note + charts.stacked_histogram(ranges, counts)


def timeline(months: list[tuple[str, int]]) -> str:
    if not months:
        return '<p class="muted">No photo has a capture date (EXIF or video metadata).</p>'
    total = sum(n for _, n in months)
    return (f'<p class="intro">{total} dated photos and videos, {months[0][0]} to {months[-1][0]}.</p>'
            + charts.timeline(months))


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]], caption: str) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def places(doc: dict[str, Any]) -> str:
    cities = doc.get("cities") or []
    if not cities:
        return f'<p class="muted">No photo has a GPS position ({doc.get("media_with_gps", 0)} with GPS).</p>'
    home = doc.get("home") or {}
    rows = [(i + 1, c.get("city", "?") + (" (home)" if home and c.get("city") == home.get("city") else ""),
             c.get("admin1", ""), c.get("country", ""), c.get("photos", 0), c.get("days", 0))
            for i, c in enumerate(cities[:50])]
    return _table(("rank", "city", "region", "country", "photos", "days"), rows,
                  f"Cities by photo-days ({doc.get('media_with_gps', 0)} photos with GPS)")


def events(evs: list[EventView], images: Images) -> str:
    if not evs:
        return ""
    items = "".join(
        f'<li><details><summary><span class="label">{escape(e.date)}</span>'
        f'<span class="num">{plural(e.photos, "photo")}{escape(" · " + e.label) if e.label else ""}</span></summary>'
        f"{grid(images, e.paths)}</details></li>" for e in evs[:100])
    return f'<ul class="events">{items}</ul>'


def privacy(doc: dict[str, Any], private: list[PrivatePhoto], images: Images) -> str:
    counts, rules = doc.get("counts") or {}, doc.get("rules") or {}
    by_rule = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in (doc.get("by_rule") or {}).items()) or "none"
    ocr = rules.get("ocr") or {}
    ocr_line = "" if ocr.get("enabled", True) else f"<p>The document rule was off: {escape(ocr.get('note') or '')}.</p>"
    summary = (f'<p><strong>{counts.get("private", 0)} private</strong>, {counts.get("public", 0)} public. '
               f"Photos made private by rule: {escape(by_rule)}.</p>{ocr_line}")
    rows = []
    for p in private[:images.per_grid * 4]:
        rows.append(f'<li><figure>{photo_img(images, p.path)}<figcaption title="{escape(p.path)}">'
                    f'{escape(name_of(p.path))}<br><span class="why">{escape("; ".join(p.reasons))}</span>'
                    "</figcaption></figure></li>")
    listing = (f'<details><summary>The {len(private)} private photos with their reasons</summary>'
               f'<ul class="grid wide">{"".join(rows)}</ul></details>') if private else ""
    return summary + listing


def problems(errors: list[dict], notes: list[dict]) -> str:
    if not errors and not notes:
        return '<p class="muted">Every file was read without remarks.</p>'
    out = ""
    for title, rows in (("Files that failed", errors), ("Notes", notes)):
        if rows:
            out += _table(("file", "stage", "reason"),
                          ((r.get("path", ""), r.get("stage", ""), r.get("reason", "")) for r in rows[:500]),
                          f"{title} ({len(rows)})")
    return out
