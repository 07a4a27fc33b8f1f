"""The engine seam: engines run the worker and report results or crashes; the policy above them
retries suspects alone, charges a crash to the one file that causes it, and gives up on workers that
cannot run at all."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from galprof.config import Settings
from galprof.engine.base import Engine, make_engine
from galprof.engine.inline import InlineEngine
from galprof.engine.policy import CRASHED, run_items
from galprof.engine.pool import PoolEngine
from galprof.engine.worker import ItemResult, ModelLoadError, Worker
from galprof.media.discover import MediaItem, discover
from galprof.pipeline import scan
from tests.batch_fakes import label_factory, user_gallery


def _items(root: Path) -> list[MediaItem]:
    return sorted((i for i in discover(root) if isinstance(i, MediaItem)), key=lambda i: i.display)


class _ScriptedEngine(Engine):
    """An in-memory engine whose 'workers' die on the items named in `poison`, taking down whatever
    else is in flight with them (`batch` items at a time), like a process pool does."""

    name = "scripted"

    def __init__(self, poison: set[str], batch: int = 3, always_die: bool = False, alone: bool = False,
                 per_item: bool = False):
        self.poison, self.batch, self.always_die, self.alone = poison, batch, always_die, alone
        self.per_item = per_item  # report each lost item on its own, as Ray reports each failed task
        self.runs: list[list[str]] = []

    @property
    def concurrency(self) -> int:
        return 1 if self.alone else self.batch

    def isolated(self) -> Engine:
        return _ScriptedEngine(self.poison, 1, self.always_die, alone=True)

    def run(self, worker, items, sink) -> None:
        self.runs.append([Path(i.display).name for i in items])
        for start in range(0, len(items), self.batch):
            group = items[start:start + self.batch]
            for item in group:
                sink.started(item)
            if self.always_die or any(Path(i.display).name in self.poison for i in group):
                for lost in ([[item] for item in group] if self.per_item else [list(group)]):
                    sink.crashed(lost)
            else:
                for item in group:
                    sink.result(worker(item))


def test_policy_isolates_the_file_that_crashes(tmp_path):
    items = _items(user_gallery(tmp_path, {"pizza": 7}))
    worker = Worker(Settings(), 1, label_factory)
    results: list[ItemResult] = []
    run_items(_ScriptedEngine({"pizza_4.png"}), worker, items, results.append)
    by_name = {Path(r.path).name: r for r in results}
    assert sorted(by_name) == sorted(Path(i.display).name for i in items)  # each exactly once
    assert len(results) == len(items)
    assert by_name["pizza_4.png"].media is None and by_name["pizza_4.png"].error.reason == CRASHED
    others = [r for name, r in by_name.items() if name != "pizza_4.png"]
    assert all(r.media is not None and r.media.frames[0].classes[0].label == "pizza" for r in others)


def test_one_death_reported_per_lost_item_is_still_one_bad_file(tmp_path):
    """Ray reports every task lost with a dying actor: three such reports are not three dead workers."""
    items = _items(user_gallery(tmp_path, {"pizza": 9}))
    results: list[ItemResult] = []
    run_items(_ScriptedEngine({"pizza_0.png"}, batch=3, per_item=True), Worker(Settings(), 1, label_factory),
              items, results.append)
    assert len(results) == len(items)
    assert [Path(r.path).name for r in results if r.media is None] == ["pizza_0.png"]


def test_policy_gives_up_when_workers_never_finish(tmp_path):
    items = _items(user_gallery(tmp_path, {"pizza": 12}))
    with pytest.raises(ModelLoadError, match="keep dying"):
        run_items(_ScriptedEngine(set(), always_die=True), Worker(Settings(), 1, label_factory), items,
                  lambda result: None)


class _Marker:
    def __init__(self, path: str | None = None):
        self.path, self.history = path, []

    def get(self) -> str | None:
        return self.path

    def set(self, path: str | None) -> None:
        self.path = path
        self.history.append(path)


def test_in_process_engine_notes_the_file_in_flight_and_isolates_a_remembered_one(tmp_path):
    items = _items(user_gallery(tmp_path, {"espresso": 3}))
    marker = _Marker(items[1].display)  # a previous in-process run died on this file
    results: list[ItemResult] = []
    run_items(InlineEngine(), Worker(Settings(), 1, label_factory), items, results.append, marker)
    assert [r.path for r in results] == [items[1].display, items[0].display, items[2].display]
    assert all(r.media is not None for r in results)  # it did not crash in a separate process
    assert marker.history == [None, items[0].display, items[2].display, None] and marker.path is None


def test_worker_pickles_without_its_analyzer_and_reports_a_failed_load(tmp_path):
    worker = Worker(Settings(), 2, label_factory)
    item = _items(user_gallery(tmp_path, {"pizza": 1}))[0]
    assert worker(item).media.frames[0].classes[0].label == "pizza"
    copy = pickle.loads(pickle.dumps(worker))
    assert copy._analyzer is None and copy.threads == 2 and copy(item).media is not None
    broken = Worker(Settings(), 1, _failing_factory)
    with pytest.raises(ModelLoadError, match="cannot load the models: OSError: no model here"):
        broken(item)


def _failing_factory(settings, threads):
    raise OSError("no model here")


def _stored(result) -> list[tuple]:
    return [(Path(m.path).name, m.size, [c.label for f in m.frames for c in f.classes],
             [tuple(np.round(f.embedding[:3], 3)) for f in m.frames]) for m in result.iter_media()]


def test_inline_and_pool_engines_store_the_same_facts(tmp_path):
    gallery = user_gallery(tmp_path / "g", {"pizza": 3, "mountain": 3})
    stored = {}
    for name in ("inline", "pool"):
        engine = make_engine(name, 2)
        try:
            result = scan(gallery, Settings(), cache_path=tmp_path / f"{name}.sqlite", quiet=True,
                          analyzer_factory=label_factory, engine=engine)
        finally:
            engine.close()
        assert result.stats["engine"] == name and result.stats["workers"] == engine.concurrency
        stored[name] = _stored(result)
        result.store.close()
    assert stored["inline"] == stored["pool"] and len(stored["pool"]) == 6


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to see the worker processes")
def test_pool_engine_keeps_its_workers_between_runs_until_closed(tmp_path):
    items = _items(user_gallery(tmp_path, {"mountain": 4}))
    engine = PoolEngine(2)
    worker = Worker(Settings(), 1, label_factory)
    seen: list[ItemResult] = []
    run_items(engine, worker, items[:2], seen.append)
    first = set(engine._pool._processes)
    run_items(engine, worker, items[2:], seen.append)
    assert set(engine._pool._processes) == first and len(seen) == 4  # models loaded once per batch
    engine.close()
    assert engine._pool is None and not [pid for pid in first if _alive(pid)]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to see the worker processes")
def test_pool_engine_renews_its_workers_after_renew_after_items_each(tmp_path):
    items = _items(user_gallery(tmp_path, {"mountain": 6}))
    engine = PoolEngine(2, renew_after=2)  # a fresh pool after 2 x 2 items
    worker = Worker(Settings(), 1, label_factory)
    seen: list[ItemResult] = []
    run_items(engine, worker, items[:2], seen.append)
    first = set(engine._pool._processes)
    run_items(engine, worker, items[2:], seen.append)  # items 3-4 on the first pool, 5-6 on a fresh one
    assert sorted(r.path for r in seen) == [i.display for i in items]
    assert all(r.media is not None and r.error is None for r in seen)
    assert not set(engine._pool._processes) & first and not [pid for pid in first if _alive(pid)]
    engine.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_engine_names(monkeypatch):
    assert make_engine("local", 1).name == "inline" and make_engine("local", 3).name == "pool"
    assert make_engine("pool", 3).concurrency == 3
    with pytest.raises(ValueError, match="unknown engine 'spark'"):
        make_engine("spark", 2)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the ray extra were not installed
    with pytest.raises(ImportError, match=r"pip install 'galprof\[ray\]'"):
        make_engine("ray", 2)._actors(Worker(Settings(), 1, label_factory))


def test_scan_with_an_unknown_engine_is_a_usage_error(tmp_path):
    from galprof.pipeline import ScanUsageError

    user_gallery(tmp_path / "g", {"pizza": 1})
    with pytest.raises(ScanUsageError, match="engine spark: ValueError: unknown engine"):
        scan(tmp_path / "g", Settings(), cache_path=tmp_path / "c.sqlite", quiet=True,
             analyzer_factory=label_factory, engine="spark")
    assert os.path.exists(tmp_path / "c.sqlite")
