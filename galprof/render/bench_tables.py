"""The `galprof bench` report as rich tables (the report itself is built by galprof.bench)."""

from __future__ import annotations

from collections.abc import Collection, Iterable


def _table(title: str, columns: Iterable[str], left: Collection[str]):
    """A rich table with these columns: text columns (`left`) left-aligned, figures right-aligned."""
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="left" if col in left else "right")
    return table


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _header(report: dict, console) -> None:
    hw, versions = report["hardware"], report["versions"]
    console.print(f"[bold]galprof bench[/] on {hw['cpu']} ({hw['arch']}, {hw['usable_cores']} cores, "
                  f"{hw.get('memory_mb') or '?'} MB), Python {hw['python']}, onnxruntime "
                  f"{versions.get('onnxruntime')}, took {report.get('bench_seconds')} s")
    inp = report.get("input", {})
    if inp:
        console.print(f"input: {inp['folder']} ({inp['source']}): {inp['photos']} photos, {inp['videos']} "
                      f"videos, {inp['bytes'] / 1e6:.1f} MB")


def _models(report: dict, console) -> None:
    models = report.get("models", {})
    if models.get("skipped"):
        console.print(f"models: skipped ({models['skipped']})")
    if not models.get("models"):
        return
    threads = report.get("threads", [])
    table = _table("model latency, bare session (ms: median / p90)",
                   ["model", "precision", "MB", *[f"{n} thr" for n in threads]], ("model", "precision"))
    for row in models["models"]:
        cells = []
        for n in threads:
            stats = row["threads"].get(str(n))
            cells.append(f"{stats['median_ms']:.1f} / {stats['p90_ms']:.1f}" if stats else "-")
        table.add_row(row["name"], row["precision"], f"{row['mb']:.1f}", *cells)
    console.print(table)
    if models.get("precision_ratios"):
        console.print("fp32 / int8 (bare): " + ", ".join(
            f"{r['model']} {r['fp32_over_int8']}x @{r['threads']}t" for r in models["precision_ratios"]))


def _stages(report: dict, console) -> None:
    stages = report.get("stages", {})
    if not stages.get("stages"):
        if stages.get("skipped"):
            console.print(f"stages: skipped ({stages['skipped']})")
        return
    table = _table(f"stage latency per frame, with pre/post-processing ({stages['threads']} thread(s))",
                   ("stage", "load ms", "median ms", "p90 ms", "note"), ("stage", "note"))
    for row in stages["stages"]:
        if "median_ms" in row:
            table.add_row(row["stage"], f"{row['load_ms']:.0f}", f"{row['median_ms']:.1f}",
                          f"{row['p90_ms']:.1f}", "")
        else:
            table.add_row(row["stage"], "-", "-", "-", row.get("skipped", "")[:60])
    console.print(table)
    if stages.get("precision_ratios"):
        console.print("fp32 / int8 (stage): " + ", ".join(
            f"{r['stage']} {r['fp32_over_int8']}x" for r in stages["precision_ratios"]))


def _decode(report: dict, console) -> None:
    decode = report.get("decode", {})
    if not decode.get("by_size"):
        return
    side = decode["max_side"]
    table = _table(f"decode per photo (ms, median): full size against galprof's decoder to {side} px "
                   f"(JPEG DCT scaling)",
                   ("size", "photos", "MP", "formats", "full", "galprof", "full/galprof", f"to {side * 3 // 4} px"),
                   ("size", "formats"))
    for row in decode["by_size"]:
        table.add_row(row["size"], str(row["photos"]), f"{row['median_megapixels']:.1f}",
                      ",".join(row["formats"]), f"{row['full_ms']:.1f}", f"{row['galprof_ms']:.1f}",
                      _cell(row["full_over_draft"]), f"{row['draft_3_4_ms']:.1f}")
    console.print(table)


def _scan_row(name: str, s: dict) -> list[str]:
    return [name, f"{s['wall_s']:.2f}", f"{s['scan_s']:.2f}", f"{s['profile_s']:.2f}", str(s["files"]),
            _cell(s["cached"]), str(s["frames"]), _cell(s["files_per_s"]), _cell(s["photos_per_s"]),
            _cell(s["frames_per_s"]), _cell(s["cpu_ms_per_file"]), _cell(s["idle_cores_files_per_s"]),
            _cell(s["decode_ms_per_file"]), _cell(s["analyze_ms_per_frame"]), str(s["errors"]),
            f"{s['tree_peak_rss_mb']:.0f}"]


def _scan(report: dict, console) -> None:
    scan = report.get("scan", {})
    if "first" not in scan:
        if scan.get("skipped"):
            console.print(f"scan: skipped ({scan['skipped']})")
        return
    table = _table(f"end to end as `galprof scan` runs it: pipeline.scan + profile ({scan['workers']} worker(s) x "
                   f"{scan['threads_per_worker']} thread(s))",
                   ("run", "wall s", "scan s", "profile s", "files", "cached", "frames", "files/s", "photos/s",
                    "frames/s", "CPU ms/file", "files/s idle cores", "decode ms/file", "analyze ms/frame",
                    "errors", "RSS MB"), ("run",))
    for name in ("first", "rescan"):
        table.add_row(*_scan_row(name, scan[name]))
    console.print(table)
    line = f"first scan / re-scan: {scan['first_over_rescan']}x"
    if "steady_files_per_s" in scan:
        line += (f"; start-up (one small photo per worker) {scan['startup']['wall_s']:.2f} s; steady "
                 f"{scan['steady_files_per_s']} files/s measured, {scan['steady_cpu_ms_per_file']} CPU ms "
                 f"per file = {scan['steady_idle_cores_files_per_s']} files/s on idle cores")
    console.print(line)
    if "rescan_note" in scan:
        console.print(f"[yellow]{scan['rescan_note']}[/]")


def _floor(report: dict, console) -> None:
    floor = report.get("floor", {})
    if floor.get("skipped"):
        console.print(f"floor: skipped ({floor['skipped']})")
    if not floor.get("models"):
        return
    table = _table("the floor per photo: Pillow draft 1/8 decode + bare 1-thread session.run (CPU ms, median)",
                   ("part", "input", "CPU ms"), ("part", "input"))
    decode = floor["decode"]
    table.add_row("decode, JPEG draft 1/8", f"{decode['photos']} photos (mean)", _ms(decode["mean_ms"]))
    for row in floor["models"]:
        table.add_row(row["model"], "x".join(str(d) for d in row["input_shape"]), f"{row['median_ms']:.1f}")
    table.add_row("floor", "", _ms(floor["floor_ms_per_photo"]))
    console.print(table)
    if floor.get("scan_over_floor"):
        console.print(f"the scan's steady CPU per file {floor['steady_cpu_ms_per_file']} ms = "
                      f"[bold]{floor['scan_over_floor']}x[/] the floor")
    if floor.get("note"):
        console.print(f"floor: {floor['note']}")


def _footer(report: dict, console) -> None:
    est = report.get("estimate", {})
    if "seconds" in est:
        extra = f", re-scan {est['rescan_seconds']:.0f} s" if "rescan_seconds" in est else ""
        if "profile_seconds" in est:
            extra += (f" (analysis {est['analysis_seconds'] / 60:.0f} min + profile step {est['profile_seconds']:.0f} s,"
                      f" growth exponent {est['profile_exponent']})")
        if "idle_cores_seconds" in est:
            extra += f"; {est['idle_cores_seconds'] / 60:.0f} min on idle cores (from CPU time)"
        console.print(f"estimate for {est['photos']} photos: {est['seconds'] / 60:.0f} min ({est['hours']} h){extra}"
                      f" [{est['basis']}]")
    mem = report.get("memory", {})
    console.print(f"peak RSS: this process {mem.get('self_mb')} MB, largest worker {mem.get('largest_child_mb')} MB, "
                  f"whole tree during scan {mem.get('tree_peak_mb')} MB")


def render_tables(report: dict, console) -> None:
    """The report as rich tables on the given console."""
    for part in (_header, _models, _stages, _decode, _scan, _floor, _footer):
        part(report, console)
