"""`render_report(document, thumbs)`: one self-contained HTML page of a profile.

The page carries its own CSS and script inline (allowed by their hashes in a Content-Security-Policy
that forbids every connection, so even a modified copy cannot reach the network), the charts as inline
SVG, and the thumbnails once each in a JSON block at the end of the body: the text and charts show
before the images have been read, and an image is decoded only when it scrolls into view.
"""

from __future__ import annotations

import base64
import hashlib
import json
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from galprof import __version__
from galprof.report import blocks, giveaways, sections
from galprof.report.blocks import escape
from galprof.report.thumbs import Thumbnailer


@dataclass
class ReportMeta:
    source: str  # the profile or cache the report was made from, as given
    made_at: datetime | None = None
    host: str | None = None


def _asset(name: str) -> str:
    return resources.files("galprof").joinpath(f"data/{name}").read_text("utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def _csp(style: str, script: str, link: bool) -> str:
    images = "data: 'self' file:" if link else "data:"
    return (f"default-src 'none'; img-src {images}; style-src {_sha256(style)}; script-src {_sha256(script)}; "
            "connect-src 'none'; font-src 'none'; form-action 'none'; base-uri 'none'")


def _header(document: dict[str, Any], meta: ReportMeta, faces: bool) -> str:
    made = (meta.made_at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    gallery = document.get("gallery") or {}
    root = gallery.get("root")
    warning = ("This report contains faces and photos of the people in the gallery" if faces
               else "This report contains photos from the gallery")
    title = f'<span class="root">{escape(root)}</span>' if root else "this gallery"
    return (f'<header><h1>What {title} says about its owner</h1>'
            f'<p class="warning" role="note"><strong>{warning}.</strong> Keep it as private as the photos. '
            f"Made {escape(made)} on {escape(meta.host or platform.node() or 'this computer')} by galprof "
            f"{escape(__version__)} from {escape(meta.source)} (profile of "
            f"{escape(str(document.get('created_at', 'unknown date')))}).</p></header>")


def _overview(document: dict[str, Any]) -> str:
    g = document.get("gallery") or {}
    dates = g.get("date_range") or {}
    span = f"{(dates.get('first') or '')[:10]} to {(dates.get('last') or '')[:10]}" if dates.get("first") else "undated"
    facts = [("photos", g.get("photos", 0)), ("videos", g.get("videos", 0)), ("with faces", g.get("with_faces", 0)),
             ("with GPS", g.get("with_gps", 0)), ("failed", g.get("failed", 0)), ("taken", span)]
    return '<ul class="overview">' + "".join(
        f'<li><span class="big">{escape(str(v))}</span> {escape(k)}</li>' for k, v in facts) + "</ul>"


NAV = [("giveaway", "What it gives away"), ("interests", "Interests"), ("people", "People"),
       ("demography", "Demography"), ("timeline", "Timeline"), ("places", "Places"), ("events", "Events"),
       ("privacy", "Privacy"), ("problems", "Errors and notes")]


def _body(document: dict[str, Any], images: blocks.Images) -> list[tuple[str, str, str]]:
    persons = sections.people(document)
    found = giveaways.findings(document, persons)
    evs = sections.events(document)
    media = (document.get("interests") or {}).get("media_with_interests", 0)
    parts = [
        ("giveaway", "What this gallery gives away",
         '<p class="intro">What an app given this gallery would learn about its owner, and the photos that '
         "tell it.</p>" + blocks.giveaways(found, images)),
        ("interests", "Interests", blocks.interests(sections.categories(document), images, media)),
        ("people", "People", blocks.people(persons, images)),
        ("demography", "Demography", blocks.demography(document.get("demography") or {})),
        ("timeline", "Photos per month", blocks.timeline(sections.months(document))),
        ("places", "Places", blocks.places(document.get("places") or {})),
        ("events", "Events", blocks.events(evs, images)),
        ("privacy", "Privacy", blocks.privacy(document.get("privacy") or {}, sections.private_photos(document),
                                              images)),
        ("problems", "Errors and notes", blocks.problems(document.get("errors") or [], document.get("notes") or [])),
    ]
    return [p for p in parts if p[2]]  # events only when the profile has them


def render_report(document: dict[str, Any], thumbs: Thumbnailer, meta: ReportMeta, per_grid: int = 24) -> str:
    """The whole HTML page of `document` (a profile as written by `galprof scan`)."""
    kinds = {p.get("path", ""): p.get("kind", "photo") for p in document.get("photos", [])}
    images = blocks.Images(thumbs, kinds, per_grid)
    parts = _body(document, images)
    shown = {anchor for anchor, _, _ in parts}
    nav = "".join(f'<li><a href="#{a}">{escape(t)}</a></li>' for a, t in NAV if a in shown)
    main = "".join(blocks.section(anchor, title, body) for anchor, title, body in parts)
    style, script = _asset("report.css"), _asset("report.js")
    data = json.dumps(images.uris, separators=(",", ":")).replace("</", "<\\/")
    faces = bool(document.get("people")) or bool((document.get("gallery") or {}).get("with_faces"))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{escape(_csp(style, script, thumbs.link))}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>galprof report: {escape((document.get('gallery') or {}).get('root') or 'gallery')}</title>"
        f"<style>{style}</style></head><body>"
        '<a class="skip" href="#main">Skip to the report</a>'
        f'{_header(document, ReportMeta(meta.source, meta.made_at, meta.host), faces)}'
        f'<nav aria-label="Sections"><ul>{nav}</ul></nav>'
        f'<main id="main" tabindex="-1">{_overview(document)}{main}</main>'
        "<noscript><p>Thumbnails are shown with JavaScript on; everything else reads without it.</p></noscript>"
        f'<script type="application/json" id="galprof-images">{data}</script>'
        f"<script>{script}</script></body></html>\n"
    )
