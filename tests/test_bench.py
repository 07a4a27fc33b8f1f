"""`galprof bench` and the peer benchmark's helpers: structure and sane values, never timing thresholds."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from galprof import bench
from galprof.cli import main
from galprof.config import Settings
from galprof.vision.registry import load_manifest

ROOT = Path(__file__).resolve().parents[1]


def _photo(path: Path, size: tuple[int, int], seed: int) -> Path:
    """A smooth random photo-like image (gradients + noise) saved as JPEG."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w * 255, yy / h * 255, (xx + yy) / (w + h) * 255], axis=-1)
    pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", quality=90)
    return path


@pytest.fixture(scope="module")
def tiny_gallery(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gallery")
    _photo(folder / "a.jpg", (320, 240), 1)
    _photo(folder / "b.jpg", (500, 375), 2)
    _photo(folder / "big.jpg", (2400, 1800), 3)
    return folder


@pytest.fixture(scope="module")
def report(tiny_gallery, tmp_path_factory) -> dict:
    options = bench.BenchOptions(folder=tiny_gallery, repeats=2, warmup=0, threads=[1], estimate=1000,
                                 decode_photos=3, stage_photos=2,
                                 settings=Settings(workers=1, threads_per_worker=1, ocr=False),
                                 work_dir=tmp_path_factory.mktemp("work"))
    messages: list[str] = []
    result = bench.run_bench(options, progress=messages.append)
    result["_messages"] = messages
    return result


def test_summary_statistics():
    stats = bench.summarize([0.001 * v for v in range(1, 11)])
    assert stats["n"] == 10
    assert stats["median_ms"] == pytest.approx(5.5)
    assert stats["p90_ms"] == pytest.approx(9.0)
    assert stats["min_ms"] == pytest.approx(1.0)
    assert bench.summarize([]) == {"n": 0}


def test_thread_counts_cover_one_to_cores():
    assert bench.thread_counts(1) == [1]
    assert bench.thread_counts(4) == [1, 2, 4]
    assert bench.thread_counts(6) == [1, 2, 4, 6]
    assert bench.thread_counts(16)[-1] == 16


def test_precision_pairs_and_ratios():
    assert bench.precision_key("face_embedding_fp32") == bench.precision_key("face_embedding")
    assert bench.precision_key("efficientnet_lite0_int8") == "efficientnet_lite0"
    rows = [
        {"name": "face_embedding", "precision": "int8", "threads": {"1": {"median_ms": 2.0}}},
        {"name": "face_embedding_fp32", "precision": "fp32", "threads": {"1": {"median_ms": 5.0}}},
        {"name": "blazeface_short", "precision": "fp32", "threads": {"1": {"median_ms": 3.0}}},
    ]
    ratios = bench.precision_ratios(rows)
    assert ratios == [{"model": "face_embedding", "threads": 1, "int8_ms": 2.0, "fp32_ms": 5.0,
                       "fp32_over_int8": 2.5}]


def test_estimate_from_a_scan_and_from_a_stage():
    from galprof.bench import growth

    scan = {"first": {"files": 10, "wall_s": 2.0, "scan_s": 1.5}, "rescan": {"files": 10, "wall_s": 0.1}}
    est = bench.estimate(20000, scan, None, 2)
    # the analysis is linear in files, the profile step follows the measured curve
    assert est["analysis_seconds"] == 3000
    assert est["profile_seconds"] == round(growth.PROFILE_FIRST.at(20000))
    assert est["seconds"] == round(3000 + growth.PROFILE_FIRST.at(20000))
    scan.update(startup={"wall_s": 1.1, "scan_s": 1.0}, steady_scan_s_per_file=0.1, steady_files_per_s=10.0,
                steady_idle_cores_files_per_s=20.0,
                steady_cpu_ms_per_file=2 * growth.REFERENCE_CPU_MS_PER_FILE)
    est = bench.estimate(20000, scan, None, 2)
    # a machine twice as slow per file as the reference takes twice the reference profile step
    assert est["analysis_seconds"] == 2001
    assert est["profile_seconds"] == round(2 * growth.PROFILE_FIRST.at(20000))
    est = bench.estimate(1000, None, 50.0, 2)
    assert est["seconds"] == 25
    assert "skipped" in bench.estimate(1000, None, None, 2)


def test_growth_curve_uses_the_measured_exponent_not_a_line():
    from galprof.bench.growth import Curve

    curve = Curve(((1000, 1.0), (4000, 8.0), (8000, 40.0)), "test")
    assert curve.exponent(1) == pytest.approx(1.5) and curve.exponent(2) == pytest.approx(math.log2(5))
    assert curve.at(4000) == pytest.approx(8.0) and curve.at(8000) == pytest.approx(40.0)
    assert curve.at(2000) == pytest.approx(2 ** 1.5)  # between the first two sizes
    assert curve.at(16000) == pytest.approx(200.0)  # beyond: the last exponent, 40 x 5
    assert curve.at(500) == pytest.approx(0.5 ** 1.5)  # below: the first exponent


def test_synthetic_jpegs_are_phone_like(tmp_path, tiny_gallery):
    made = bench.make_synthetic_jpegs([tiny_gallery / "a.jpg"], tmp_path, 2, size=(800, 600))
    assert len(made) == 2
    for path in made:
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.size == (800, 600)
            assert im.getexif()[0x0110] == "synthetic 12MP"
    again = bench.make_synthetic_jpegs([tiny_gallery / "a.jpg"], tmp_path, 2, size=(800, 600))
    assert again == made  # existing files are reused, not remade


def test_bench_decodes_with_the_scans_decoder(tmp_path):
    from galprof.media.decode import decode_image

    path = _photo(tmp_path / "big.jpg", (3200, 2400), 4)
    frame = bench.scan_frame(path, 1024)
    assert frame.shape == (768, 1024, 3)
    assert np.array_equal(frame, decode_image(str(path), 1024).rgb)  # the scan's frame, not a copy's
    assert bench.decode_full(path).shape == (2400, 3200, 3)


def test_memory_sampler_sees_this_process():
    with bench.TreeMemorySampler(interval=0.01) as sampler:
        _ = np.ones((2000, 2000))  # 32 MB touched while sampling
    if Path("/proc").is_dir():
        assert sampler.peak_mb > 10
    rss = bench.peak_rss()
    assert rss["self_mb"] > 0


def test_report_records_hardware_and_versions(report):
    hw = report["hardware"]
    assert hw["arch"] and hw["cpu"] and hw["usable_cores"] >= 1
    assert report["versions"]["onnxruntime"] and report["versions"]["numpy"]
    assert report["schema"] == bench.SCHEMA
    assert report["input"]["photos"] == 3 and report["input"]["videos"] == 0
    json.dumps(report)  # JSON-ready


def test_decode_table_by_size(report):
    decode = report["decode"]
    sizes = {row["size"]: row for row in decode["by_size"]}
    assert set(sizes) == {"<0.5 MP", "2-6 MP"}
    assert sizes["<0.5 MP"]["photos"] == 2
    for row in sizes.values():
        assert row["full_ms"] > 0 and row["draft_ms"] > 0 and row["full_over_draft"] > 0
        assert row["draft_3_4_ms"] > 0 and row["galprof_ms"] > 0
    assert decode["errors"] == []
    assert decode["galprof_decoder"] == "galprof.media.decode.decode_image"


def test_every_manifest_model_is_timed(report):
    rows = {row["name"]: row for row in report["models"]["models"]}
    assert set(rows) == set(load_manifest())
    for row in rows.values():
        stats = row["threads"]["1"]
        assert stats["n"] == 2 and stats["median_ms"] > 0 and stats["p90_ms"] >= stats["median_ms"]
        assert stats["load_ms"] > 0
    precisions = {}
    for name, row in rows.items():
        precisions.setdefault(bench.precision_key(name), set()).add(row["precision"])
    expected = {key for key, found in precisions.items() if found == {"int8", "fp32"}}
    assert {r["model"] for r in report["models"]["precision_ratios"]} == expected
    for ratio in report["models"]["precision_ratios"]:
        assert ratio["fp32_over_int8"] > 0


def test_stages_are_timed_or_say_why_not(report):
    stages = {row["stage"]: row for row in report["stages"]["stages"]}
    assert stages["faces int8"]["median_ms"] > 0  # the face path is part of the foundation
    for row in stages.values():
        assert ("median_ms" in row and row["median_ms"] > 0) or row["skipped"]
    for ratio in report["stages"]["precision_ratios"]:
        assert ratio["fp32_over_int8"] > 0


def test_scan_and_rescan(report):
    scan = report["scan"]
    if "skipped" in scan:  # only while a model class of another part is missing
        assert "No module named 'galprof.vision." in scan["skipped"]
        pytest.skip(f"scan part not measured: {scan['skipped']}")
    first, again = scan["first"], scan["rescan"]
    assert first["files"] == 3 and first["frames"] == 3 and first["errors"] == 0
    assert first["analyzed"] == 3 and first["decode_ms_per_file"] > 0 and first["analyze_ms_per_frame"] > 0
    assert again["files"] == 3 and again["cached"] == 3 and again["analyzed"] == 0
    assert first["wall_s"] > 0 and again["wall_s"] > 0 and first["photos_per_s"] > 0
    assert first["cpu_s"] > 0 and first["cpu_ms_per_file"] > 0 and first["idle_cores_files_per_s"] > 0
    assert scan["first_over_rescan"] > 0
    assert scan["startup"]["files"] == 1 and scan["steady_files_per_s"] > 0
    assert report["estimate"]["seconds"] > 0
    assert report["memory"]["tree_peak_mb"] > 0


def test_cli_json_report(tiny_gallery, tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(main, ["bench", str(tiny_gallery), "--repeats", "1", "--threads", "1",
                                       "--skip", "stages", "--skip", "scan", "--format", "json",
                                       "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["threads"] == [1]
    assert data["stages"] == {"skipped": "disabled by option"}
    assert json.loads(out.read_text())["models"] == data["models"]


def test_cli_reports_a_failure_in_one_line(tiny_gallery, monkeypatch):
    def offline(options, progress=None):
        raise OSError("no network to fetch the sample photos")

    monkeypatch.setattr(bench, "run_bench", offline)
    result = CliRunner().invoke(main, ["bench", "--format", "json"])
    assert result.exit_code == 2
    assert "no network" in result.stderr and "Traceback" not in result.output
    assert result.stdout == ""


def test_cli_rejects_bad_thread_list(tiny_gallery):
    result = CliRunner().invoke(main, ["bench", str(tiny_gallery), "--threads", "two"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# ------------------------------------------------------------------------------- benchmarks/peer_face.py


@pytest.fixture(scope="module")
def peer_face():
    spec = importlib.util.spec_from_file_location("peer_face", ROOT / "benchmarks" / "peer_face.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_main_face_is_the_central_one(peer_face):
    boxes = [(0, 0, 20, 20), (90, 90, 150, 150), (200, 200, 240, 240)]
    assert peer_face.main_face_index(boxes, 240, 240) == 1
    assert peer_face.main_face_index([], 240, 240) is None


def test_peer_clustering_scores_separated_people(peer_face):
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (3, 128)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    truth = np.repeat(np.arange(3), 6)
    embeddings = centres[truth] + rng.normal(0, 0.01, (18, 128)).astype(np.float32)
    embeddings[5] = np.nan  # a photo where no face was found: a singleton
    scores = peer_face.clustering_scores(embeddings, truth)
    assert "agglomerative_0.6" in scores
    for s in scores.values():
        assert s["precision"] == pytest.approx(1.0)
        assert 0.5 < s["recall"] < 1.0
        assert 0.7 < s["f"] < 1.0


def test_peer_photo_listing(peer_face, tmp_path):
    for person, n in (("Ann", 3), ("Bob", 2)):
        (tmp_path / person).mkdir()
        for i in range(n):
            _photo(tmp_path / person / f"{i}.jpg", (32, 32), i)
    paths, truth = peer_face.list_photos(tmp_path, None)
    assert len(paths) == 5 and truth.tolist() == [0, 0, 0, 1, 1]
    paths, truth = peer_face.list_photos(tmp_path, 2)
    assert len(paths) == 2


@pytest.mark.skipif(not (ROOT / ".venv-peer" / "bin" / "python").is_file(),
                    reason="the peer venv .venv-peer (face_recognition) is not installed")
def test_peer_worker_embeds_a_real_face(peer_face, tmp_path):
    data = ROOT.parent / "shared" / "data" / "lfw"
    if not data.is_dir():
        pytest.skip(f"no shared LFW data at {data}")
    photo = min((data / "Andre_Agassi").glob("*.jpg"))
    run = peer_face.run_peer([photo], ROOT / ".venv-peer" / "bin" / "python", tmp_path)
    assert run["faces"][0] >= 1
    assert np.isfinite(run["embeddings"][0]).all()
    assert run["total"] > 0


def test_scan_figures_include_the_profile_step(report):
    scan = report["scan"]
    if "skipped" in scan:
        pytest.skip(f"scan part not measured: {scan['skipped']}")
    first, again = scan["first"], scan["rescan"]
    for run in (first, again):
        assert run["profile_bytes"] > 1000  # the JSON text of a real profile was made
        assert run["wall_s"] >= run["scan_s"] + run["profile_s"] - 0.002
        assert run["profile_s"] >= run["profile_build_s"]
    assert first["profile_reused"] is False and again["profile_reused"] is True  # as `galprof scan` does


def test_floor_decode_is_a_draft_at_one_eighth(tmp_path):
    path = _photo(tmp_path / "big.jpg", (3200, 2400), 5)
    assert bench.draft_eighth(path).shape == (300, 400, 3)
    png = tmp_path / "small.png"
    Image.fromarray(np.zeros((40, 60, 3), dtype=np.uint8)).save(png)
    assert bench.draft_eighth(png).shape == (40, 60, 3)  # no DCT scaling outside JPEG


def test_floor_is_measured_and_compared_to_the_scan(report):
    floor = report["floor"]
    assert floor["decode"]["photos"] == 3 and floor["decode"]["mean_ms"] > 0
    models = {row["model"]: row for row in floor["models"]}
    assert set(models) == set(bench.FLOOR_MODELS)
    assert models["blazeface_full"]["input_shape"] == [1, 192, 192, 3]
    assert all(row["median_ms"] > 0 and row["n"] == 2 for row in models.values())
    assert floor["models_ms_per_photo"] == pytest.approx(sum(r["median_ms"] for r in models.values()), abs=0.01)
    assert floor["floor_ms_per_photo"] == pytest.approx(floor["decode_ms_per_photo"] + floor["models_ms_per_photo"],
                                                        abs=0.01)
    steady = report["scan"].get("steady_cpu_ms_per_file")
    if steady:
        assert floor["scan_over_floor"] == pytest.approx(steady / floor["floor_ms_per_photo"], rel=0.01)
    else:
        assert floor["scan_over_floor"] is None and floor["note"]


def test_compare_to_scan():
    floor = {"floor_ms_per_photo": 50.0}
    assert bench.compare_to_scan(floor, {"steady_cpu_ms_per_file": 200.0})["scan_over_floor"] == 4.0
    with_video = bench.compare_to_scan(floor, {"steady_cpu_ms_per_file": 200.0, "first": {"videos": 1}})
    assert "video" in with_video["note"]
    assert bench.compare_to_scan(floor, {"skipped": "disabled by option"})["scan_over_floor"] is None
