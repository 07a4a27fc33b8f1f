"""The HTML report in a real browser: Debian's headless Chromium driven by Playwright (never
`playwright install`), on a report made from real photos of ../shared/data scanned with the packaged
models. Clicking a category shows its photos, the keyboard opens it, a phone screen needs no sideways
scrolling, the page asks for nothing over the network, and axe-core finds no serious violation.
A screenshot is kept in .cache/test-artifacts/ (gitignored) for a person to look at."""

from __future__ import annotations

import shutil
from pathlib import Path

import piexif
import pytest
from click.testing import CliRunner

from galprof.cli import main
from galprof.config import Settings

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / ".cache" / "test-artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FRONT = {"make": "Apple", "model": "iPhone 12", "lens": "iPhone 12 front camera 2.71mm f/2.2", "focal": 2.71}
BACK = {"make": "Apple", "model": "iPhone 12", "lens": "iPhone 12 back camera 4.2mm f/1.6", "focal": 4.2}
ROME, SEATTLE = (41.9, 12.49), (47.61, -122.33)


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.skip("Debian's chromium is not installed (make install adds it with apt as root)")
    return path


def _rational(value: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    degrees = int(abs(value))
    minutes = (abs(value) - degrees) * 60
    return (degrees, 1), (int(minutes), 1), (round((minutes - int(minutes)) * 6000), 100)


def _copy(src: Path, dst: Path, camera: dict, day: int, place: tuple[float, float] | None = None) -> None:
    shutil.copy(src, dst)
    exif = {piexif.ExifIFD.DateTimeOriginal: f"2023:05:{day:02d} 10:00:00".encode(),
            piexif.ExifIFD.LensModel: camera["lens"].encode(),
            piexif.ExifIFD.FocalLength: (round(camera["focal"] * 100), 100)}
    gps = {}
    if place is not None:
        lat, lon = place
        gps = {piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S", piexif.GPSIFD.GPSLatitude: _rational(lat),
               piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W", piexif.GPSIFD.GPSLongitude: _rational(lon)}
    zeroth = {piexif.ImageIFD.Make: camera["make"].encode(), piexif.ImageIFD.Model: camera["model"].encode()}
    piexif.insert(piexif.dump({"0th": zeroth, "Exif": exif, "GPS": gps}), str(dst))


@pytest.fixture(scope="module")
def report_files(shared_data: Path, tmp_path_factory) -> dict[str, Path]:
    """A gallery of real photos (copies with phone EXIF: the owner's selfies, a friend, food in Rome and
    Seattle, a page of text, a video), scanned; its report embedded and linked, made from the cache."""
    from galprof.pipeline import scan

    tmp = tmp_path_factory.mktemp("report-browser")
    gallery = tmp / "gallery"
    gallery.mkdir()
    owner = sorted((shared_data / "lfw" / "Gloria_Macapagal_Arroyo").glob("*.jpg"))[:4]
    friend = sorted((shared_data / "lfw" / "Hugo_Chavez").glob("*.jpg"))[:3]
    for i, src in enumerate(owner):
        _copy(src, gallery / f"selfie-{i}.jpg", FRONT, 1 + i % 2, ROME)
    for i, src in enumerate(friend):
        _copy(src, gallery / f"friend-{i}.jpg", BACK, 3 + i, ROME)
    food = [min(d.iterdir()) for d in sorted((shared_data / "food101").iterdir()) if d.is_dir()][:3]
    for i, src in enumerate(food):
        _copy(src, gallery / f"food-{i}.jpg", BACK, 10 + i, SEATTLE if i else ROME)
    text = min((shared_data / "immich-assets" / "albums" / "text").glob("*.jpg"))
    _copy(text, gallery / "notes.jpg", BACK, 12)
    shutil.copy(shared_data / "videos" / "bottle-detection.mp4", gallery / "clip.mp4")
    cache = tmp / "cache.sqlite"
    scan(gallery, Settings(workers=1), cache_path=cache, quiet=True).store.close()
    files = {"embedded": tmp / "report.html", "linked": tmp / "linked.html"}
    for name, extra in (("embedded", []), ("linked", ["--link"])):
        result = CliRunner().invoke(main, ["report", str(cache), "-o", str(files[name]), "-q", *extra])
        assert result.exit_code == 0, result.output
    return files


@pytest.fixture(scope="module")
def browser():
    chromium = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


class Opened:
    """A page of the report with every request it made recorded (anything but file: and data: is
    aborted, so a regression cannot reach the network even in the test)."""

    def __init__(self, browser, path: Path, width: int = 1200, height: int = 900) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.requests: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.goto(path.as_uri())

    def _route(self, route) -> None:
        url = route.request.url
        self.requests.append(url)
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            route.abort()

    def remote_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]

    def close(self) -> None:
        self.context.close()


def _loaded(locator) -> int:
    return locator.evaluate_all("els => els.filter(e => e.complete && e.naturalWidth > 0).length")


def test_clicking_a_category_shows_its_photos(browser, report_files):
    opened = Opened(browser, report_files["embedded"])
    page = opened.page
    category = page.locator("details.cat").first
    photos = category.locator(".panel > ul.grid img")
    assert photos.count() > 0
    assert _loaded(photos) == 0 and not photos.first.is_visible()  # nothing decoded while closed
    category.locator("> summary").click()
    page.wait_for_function("n => [...document.querySelectorAll('details.cat')][0]"
                           ".querySelectorAll('.panel > ul.grid img[src]').length >= n", arg=photos.count())
    photos.last.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    assert photos.first.is_visible() and _loaded(photos) == photos.count()
    assert opened.remote_requests() == [] and opened.errors == []
    opened.close()


def test_the_keyboard_opens_a_category(browser, report_files):
    opened = Opened(browser, report_files["embedded"])
    page = opened.page
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('details.cat > summary')"):
            break
    else:
        pytest.fail("no category can be reached with Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.parentElement.open")
    opened.close()


def test_linked_photos_load_from_beside_the_report(browser, report_files):
    opened = Opened(browser, report_files["linked"])
    page = opened.page
    page.locator("details.cat > summary").first.click()
    photos = page.locator("details.cat").first.locator(".panel > ul.grid img")
    photos.last.scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.querySelectorAll('details.cat')][0]"
                           ".querySelector('.panel > ul.grid img[src]') !== null")
    page.wait_for_timeout(300)
    assert _loaded(photos) == photos.count() > 0
    assert all(u.startswith(("file:", "data:")) for u in opened.requests) and opened.errors == []
    opened.close()


def _open_everything(page) -> None:
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    height = page.evaluate("document.body.scrollHeight")
    for y in range(0, height + 900, 600):  # bring every image into view once so all are decoded
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(30)
    page.evaluate("window.scrollTo(0, 0)")


def test_no_serious_accessibility_violation(browser, report_files):
    if not AXE.is_file():
        pytest.skip(f"axe-core not found at {AXE} (make install puts npm's axe-core there)")
    for width in (1200, 390):
        opened = Opened(browser, report_files["embedded"], width=width, height=844)
        page = opened.page
        _open_everything(page)
        page.evaluate(AXE.read_text("utf-8"))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [(v["id"], v["help"], [n["target"] for n in v["nodes"][:3]])
                   for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], serious
        assert opened.remote_requests() == []
        opened.close()


def test_a_phone_screen_needs_no_sideways_scrolling_and_a_screenshot_is_kept(browser, report_files):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, name in ((390, "report-phone.png"), (1200, "report.png")):
        opened = Opened(browser, report_files["embedded"], width=width, height=844)
        page = opened.page
        _open_everything(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        assert (ARTIFACTS / name).stat().st_size > 10_000
        assert opened.remote_requests() == [] and opened.errors == []
        opened.close()
