"""`galprof report`: the HTML page of a profile, checked on a generated gallery whose photos have known
colours, so each thumbnail can be traced back to the photo it must show."""

from __future__ import annotations

import json
import os
import re
import stat
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from galprof.cli import main
from tests import report_factory


class Page(HTMLParser):
    """The parts of a report page the tests look at: elements by id and class, and for each
    <img data-thumb> the chain of its enclosing elements."""

    VOID = frozenset({"img", "meta", "br", "link", "input", "hr", "rect", "line"})

    def __init__(self, text: str) -> None:
        super().__init__()
        self.stack: list[dict] = []
        self.images: list[tuple[dict, list[dict]]] = []
        self.ids: set[str] = set()
        self.feed(text)
        self.uris = json.loads(re.search(r'<script type="application/json" id="galprof-images">(.*?)</script>',
                                         text, re.DOTALL).group(1))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs) | {"tag": tag}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img" and "data-thumb" in a:
            self.images.append((a, list(self.stack)))
        if tag not in self.VOID:
            self.stack.append(a)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i]["tag"] == tag:
                del self.stack[i:]
                return

    def thumbs_in(self, **where) -> list[str]:
        """The image URIs of the <img>s inside an element whose attributes match `where`."""
        def matches(el):
            return all((v in el.get(k, "").split()) if k == "class" else el.get(k) == v for k, v in where.items())
        return [self.uris[a["data-thumb"]] for a, chain in self.images if any(matches(el) for el in chain)]


@pytest.fixture()
def profile_file(tmp_path: Path, monkeypatch) -> tuple[Path, dict, dict]:
    document, colours = report_factory.profile(tmp_path / "gallery", monkeypatch)
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(document))
    return path, document, colours


def run_report(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["report", *args])
    return result.exit_code, result.output


def make_report(profile: Path, out: Path, *args: str) -> Page:
    code, output = run_report(str(profile), "-o", str(out), *args)
    assert code == 0, output
    return Page(out.read_text("utf-8"))


def close_to(uri: str, colour, tolerance: float = 12.0) -> bool:
    return bool(np.abs(report_factory.mean_colour(uri) - np.array(colour)).max() <= tolerance)


def test_a_category_holds_the_thumbnails_of_its_photos(profile_file, tmp_path):
    profile, document, colours = profile_file
    page = make_report(profile, tmp_path / "report.html")
    food = [p["path"] for p in document["photos"] if "food" in p["categories"]]
    shown = page.thumbs_in(tag="details", **{"data-category": "food"})
    assert food and len(set(shown)) == len(food)
    for path in food:  # every food photo is there, recognisably (its own colour)
        assert any(close_to(uri, colours[path]) for uri in shown), path
    dogs = [colours[p["path"]] for p in document["photos"] if "animals" in p["categories"]]
    assert not any(close_to(uri, c) for uri in shown for c in dogs)


def test_people_are_faces_with_the_owner_marked(profile_file, tmp_path):
    profile, document, _ = profile_file
    text = (tmp_path / "report.html")
    page = make_report(profile, text)
    html = text.read_text("utf-8")
    owner = document["owner"]["person_id"]
    assert owner is not None
    faces = page.thumbs_in(tag="li", **{"class": "is-owner"})
    crop = report_factory.pixels(faces[0])
    height, width = crop.shape[:2]
    # a crop around the face: the face in the middle, a margin of the photo around it
    assert np.abs(crop[height // 2, width // 2] - report_factory.FACE_COLOUR).max() < 20
    assert 0.4 < width / report_factory.SIDE < 1 and crop[2, 2].tolist() != crop[height // 2, width // 2].tolist()
    card = re.search(r'<li class="person is-owner">.*?</dl>', html, re.DOTALL).group(0)
    assert f"person {owner}" in card and "owner</span>" in card and "female" in card
    assert len(re.findall(r'<li class="person', html)) == len(document["people"])


def test_every_section_and_what_the_gallery_gives_away(profile_file, tmp_path):
    profile, _, _ = profile_file
    out = tmp_path / "report.html"
    page = make_report(profile, out)
    html = out.read_text("utf-8")
    assert {"giveaway", "interests", "people", "demography", "timeline", "places", "privacy", "problems"} <= page.ids
    assert "events" not in page.ids  # no events section in this profile
    findings = re.search(r'<ul class="findings">(.*?)</ul></section>', html, re.DOTALL).group(1)
    assert "Home is probably Paris" in findings and "Other places: Lyon" in findings
    assert "The owner is probably a woman of about" in findings
    assert "Children appear" in findings and "boy of about" in findings
    assert "passport" in findings.lower()
    assert "This report contains faces" in html and "Made 20" in html
    assert "2024-04: 0" not in html and "2024-03: 1" in html and "2024-05:" in html  # the timeline by month
    assert re.search(r"People by age range and gender\. 0-12: 0 female, 1 male; 35-44: 1 female, 0 male", html)


def test_the_file_is_private_and_offline(profile_file, tmp_path):
    profile, _, _ = profile_file
    out = tmp_path / "report.html"
    make_report(profile, out)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    html = out.read_text("utf-8")
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE), "no address of any server"
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src &#x27;none&#x27;" in csp and "connect-src &#x27;none&#x27;" in csp
    assert "img-src data:;" in csp
    os.chmod(out, 0o640)  # an existing file keeps its mode, like the profile writer does
    make_report(profile, out)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640


def test_names_and_events_are_shown_when_the_profile_has_them(profile_file, tmp_path):
    profile, document, _ = profile_file
    document["people"][0]["name"] = "Marie <b>Dupont</b>"
    document["schema_version"] = "1.1"
    document["events"] = {"dated_media": 9, "days": 2, "average_per_day": 4.5, "events": [{
        "date": "2024-05-02", "photos": 5, "start": "2024-05-02T10:00:00", "end": "2024-05-02T11:00:00",
        "category": {"id": "food", "label": "food"}, "scene": "pizza", "confidence": 0.8,
        "paths": [p["path"] for p in document["photos"][:5]]}]}
    profile.write_text(json.dumps(document))
    out = tmp_path / "report.html"
    page = make_report(profile, out)
    html = out.read_text("utf-8")
    assert "Marie &lt;b&gt;Dupont&lt;/b&gt;" in html and "<b>Dupont" not in html
    assert "events" in page.ids and "2024-05-02" in html and "5 photos · food" in html
    assert len(page.thumbs_in(tag="ul", **{"class": "events"})) == 5


def test_names_from_the_gallery_are_escaped(tmp_path, monkeypatch):
    root = tmp_path / "g"
    document, _ = report_factory.profile(root, monkeypatch)
    hostile = root / '<script>alert("x")<img src=x onerror=alert(1)>\u202egpj.jpg'
    os.rename(document["photos"][7]["path"], hostile)
    document["photos"][7]["path"] = str(hostile)
    for cat in document["interests"]["categories"]:
        cat["label"] = cat["label"] + "<i>"
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps(document))
    out = tmp_path / "r.html"
    make_report(profile, out)
    html = out.read_text("utf-8")
    assert html.count("<script") == 2  # the image map and the page's own script
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;img src=x onerror=alert(1)&gt;\\u202egpj.jpg" in html
    assert "\u202e" not in html  # a direction override cannot reorder the page's text
    assert "<img src=x" not in html and "<i>" not in html and "&lt;i&gt;" in html


def test_link_mode_points_at_the_photos(profile_file, tmp_path):
    profile, document, _ = profile_file
    out = tmp_path / "sub" / "report.html"
    page = make_report(profile, out, "--link")
    links = [u for u in page.uris.values() if not u.startswith("data:")]
    faces = [u for u in page.uris.values() if u.startswith("data:")]
    assert faces, "faces are still embedded crops"
    targets = {os.path.normpath(out.parent / u) for u in links}
    assert targets == {p["path"] for p in document["photos"]}
    assert all(not os.path.isabs(u) for u in links)


def test_thumbnails_are_capped_and_a_vanished_photo_is_named(profile_file, tmp_path):
    profile, document, _ = profile_file
    gone = document["photos"][9]["path"]
    os.unlink(gone)
    page = make_report(profile, tmp_path / "a.html", "--max-thumbnails", "1000")
    html = (tmp_path / "a.html").read_text("utf-8")
    assert f'aria-label="photo {Path(gone).name} (not readable)"' in html
    assert len(page.uris) < len(document["photos"]) + len(document["people"])
    capped = make_report(profile, tmp_path / "b.html", "--max-thumbnails", "3")
    assert len(capped.uris) == 3 + len(document["people"])  # photos capped, faces kept


def test_usage_errors_are_one_line(tmp_path, profile_file):
    profile, _, _ = profile_file
    code, output = run_report(str(tmp_path / "missing.json"), "-o", str(tmp_path / "r.html"))
    assert code == 2 and output.strip().splitlines() == [f"error: no such profile or cache: {tmp_path / 'missing.json'}"]
    code, output = run_report(str(profile), "-o", str(tmp_path))
    assert code == 2 and "is a folder" in output and len(output.strip().splitlines()) == 1
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    code, output = run_report(str(bad), "-o", str(tmp_path / "r.html"))
    assert code == 2 and str(bad) in output and "Traceback" not in output
    code, output = run_report(str(profile), "-o", str(profile))
    assert code == 2 and "refusing to overwrite" in output
    assert not (tmp_path / "r.html").exists()


def test_a_gallery_of_20000_photos_stays_light(profile_file, tmp_path):
    profile, document, _ = profile_file
    food = next(p for p in document["photos"] if "food" in p["categories"])
    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(0)
    extra = []
    for i in range(20_000):
        path = folder / f"IMG_{i:05d}.jpg"
        if i < 100:  # distinct noisy photos (the worst case for JPEG size); the rest vanished since the scan
            noise = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
            Image.fromarray(noise).resize((640, 480)).save(path, "JPEG", quality=85)
        extra.append(food | {"path": str(path), "taken_at": f"20{10 + i % 14}-{1 + i % 12:02d}-01T10:00:00"})
    document["photos"] += extra
    for cat in document["interests"]["categories"]:
        if cat["id"] == "food":
            cat["photos"] += len(extra)
    document["gallery"]["date_range"] = {"first": "2010-01-01T00:00:00", "last": "2024-12-31T00:00:00"}
    profile.write_text(json.dumps(document))
    out = tmp_path / "big.html"
    page = make_report(profile, out)
    html = out.read_text("utf-8")
    size = out.stat().st_size
    assert size < 8_000_000, f"{size / 1e6:.1f} MB"
    print(f"\nreport of {len(document['photos'])} photos: {size / 1e6:.1f} MB")
    photo_thumbs = [u for u in page.uris.values() if u.startswith("data:")]
    # only the photos shown are thumbnailed: 24 per grid, never the whole gallery
    assert len(photo_thumbs) <= 600 + len(document["people"]) and "IMG_19999.jpg" not in html
    food_grid = page.thumbs_in(tag="details", **{"data-category": "food"})
    assert 0 < len(food_grid) <= 24 * 3  # all photos, each subcategory: one grid each, capped
    in_food = sum("food" in p["categories"] for p in document["photos"])
    assert f"24 of {in_food} shown" in html
    assert html.index('id="galprof-images"') > html.index("</main>"), "images come after the text"
