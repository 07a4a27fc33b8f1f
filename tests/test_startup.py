"""Start-up: a CLI run that analyzes nothing (an empty folder, an unchanged cache) imports none of the heavy
libraries; they load in the processes and the steps that use them."""

from __future__ import annotations

import json
import subprocess
import sys

# imported only where used: decoders (PIL, pillow-heif, PyAV, exifread), schema checks (jsonschema),
# models (onnxruntime), OCR (tesserocr), people clustering (hdbscan, scikit-learn, scipy), places
HEAVY = ("PIL", "pillow_heif", "av", "exifread", "jsonschema", "onnxruntime", "tesserocr", "hdbscan", "sklearn",
         "scipy", "reverse_geocoder")
# and what the profile's builders and the terminal view use: ~0.1 s each that a run which only reads
# and prints (the unchanged re-scan, --version) does not need
BUILDERS = ("numpy", "rich")

_PROBE = """
import json, sys
from galprof.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted({m.split('.')[0] for m in sys.modules})}))
"""


def _modules_after(*args: str) -> tuple[int, set[str]]:
    out = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def test_scans_that_analyze_nothing_import_no_decoder_and_no_model(tmp_path):
    (tmp_path / "empty").mkdir()
    args = ("scan", str(tmp_path / "empty"), "--cache", str(tmp_path / "c.sqlite"), "-q", "-o", str(tmp_path / "p.json"))
    code, first = _modules_after(*args)
    assert code == 0
    assert json.loads((tmp_path / "p.json").read_text())["scan"]["media_files"] == 0
    # the first scan builds the profile: only the taxonomy's schema check loads its library
    assert not first & (set(HEAVY) - {"jsonschema"}), sorted(first & set(HEAVY))
    # the unchanged re-scan reuses the stored profile: nothing heavy at all
    code, again = _modules_after(*args)
    assert code == 0
    assert not again & {*HEAVY, *BUILDERS}, sorted(again & {*HEAVY, *BUILDERS})


def test_version_imports_no_heavy_library():
    code, modules = _modules_after("--version")
    assert code == 0
    assert not modules & {*HEAVY, *BUILDERS}, sorted(modules & {*HEAVY, *BUILDERS})


def test_help_still_lists_every_command():
    done = subprocess.run([sys.executable, "-m", "galprof.cli", "--help"], capture_output=True, text=True,
                          timeout=120, check=True)
    listed = {line.split()[0] for line in done.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert {"scan", "show", "faces", "people", "selfie", "serve", "bench", "batch", "report", "train"} <= listed
