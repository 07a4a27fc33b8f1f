"""Algorithm 2: per-feature classifiers, the fusion-weight search, album decisions and the model file."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from galprof.errors import UsageError
from galprof.learn.datasets import PhotoGroup
from galprof.learn.events import EventModel, search_weights, train_event_model, weight_grid

EVENTS = ("birthday", "hike", "concert")


def _album(event: int, album: str, rng: np.random.Generator, photos: int = 12) -> PhotoGroup:
    """f carries the event (a shifted block), p is noise, o carries it weakly."""
    g = PhotoGroup((EVENTS[event], album))
    for _ in range(photos):
        f = rng.normal(0, 1, 16)
        f[event * 4:(event + 1) * 4] += 2.5
        o = rng.normal(0, 1, 6)
        o[event] += 0.7
        g.paths.append(f"{EVENTS[event]}/{album}/{len(g.paths)}.jpg")
        g.f.append(f), g.p.append(rng.normal(0, 1, 10)), g.o.append(o)
    return g


def test_weight_grid_covers_the_simplex():
    grid = weight_grid(0.25)
    assert len(grid) == 15 and all(abs(sum(w) - 1) < 1e-9 and min(w) >= 0 for w in grid)


def test_weight_search_picks_the_informative_classifier():
    y = np.array([0, 1, 2, 0, 1, 2])
    right = np.eye(3)[y] * 0.8 + 0.1
    wrong = np.eye(3)[(y + 1) % 3] * 0.8 + 0.1
    weights, accuracy = search_weights({"f": wrong, "p": right, "o": wrong}, y)
    assert accuracy == 1.0 and weights["p"] > 0.5


def test_trained_model_decides_held_out_albums_and_weights_the_signal():
    rng = np.random.default_rng(6)
    albums = [_album(e, f"a{i}", rng) for e in range(3) for i in range(3)]
    model = train_event_model(albums, validation=0.34, seed=0)
    assert model.validation_split == "albums" and model.events == sorted(EVENTS)
    assert model.fusion_weights["f"] >= max(model.fusion_weights["p"], model.fusion_weights["o"])
    for e in range(3):
        scores = model.album_scores(_album(e, "new", rng))
        assert max(scores, key=scores.get) == EVENTS[e]
        assert abs(sum(scores.values()) - 1) < 1e-6
    noise_only = model.album_scores(_album(0, "new", rng), parts=("p",))
    assert abs(sum(noise_only.values()) - 1) < 1e-6


def test_one_album_per_event_splits_photos_for_validation():
    rng = np.random.default_rng(7)
    model = train_event_model([_album(e, "only", rng) for e in range(3)])
    assert model.validation_split == "photos" and model.validation_accuracy > 0.6


def test_one_event_is_not_enough():
    from galprof.learn.events import EventTrainingError

    with pytest.raises(EventTrainingError, match="at least 2 events"):
        train_event_model([_album(0, "a", np.random.default_rng(8))])


def test_model_file_round_trip_and_bad_files(tmp_path):
    rng = np.random.default_rng(9)
    model = train_event_model([_album(e, f"a{i}", rng) for e in range(3) for i in range(2)])
    path = tmp_path / "events.model"
    model.save(path)
    assert path.exists() and not (tmp_path / "events.model.npz").exists()
    loaded = EventModel.load(path)
    album = _album(1, "x", rng)
    assert loaded.album_scores(album) == pytest.approx(model.album_scores(album))

    (tmp_path / "text.model").write_text("hello")
    with pytest.raises(UsageError, match="text.model: not a galprof event model"):
        EventModel.load(tmp_path / "text.model")
    with pytest.raises(UsageError, match="missing.model: No such file"):
        EventModel.load(tmp_path / "missing.model")
    buffer = io.BytesIO()  # an object array needs pickle: refused, never unpickled
    np.savez(buffer, meta=np.array([{"format": "galprof-events"}], dtype=object))
    (tmp_path / "pickled.model").write_bytes(buffer.getvalue())
    with pytest.raises(UsageError, match="pickled.model: not a galprof event model"):
        EventModel.load(tmp_path / "pickled.model")
    damaged = tmp_path / "damaged.model"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(damaged, "w") as dst:
        for name in src.namelist():
            if name != "f_coef.npy":
                dst.writestr(name, src.read(name))
    with pytest.raises(UsageError, match="damaged.model: damaged"):
        EventModel.load(damaged)


def test_attention_pooling_lets_confident_photos_decide():
    from galprof.learn.events import pool_album

    vague = np.tile([0.6, 0.2, 0.2], (12, 1))  # twelve photos that lean to event 0
    sure = np.tile([0.0, 1.0, 0.0], (3, 1))  # three that clearly show event 1
    scores = np.vstack([vague, sure])
    assert pool_album(scores, 0.0).argmax() == 0  # averaging
    assert pool_album(scores, 10.0).argmax() == 1
    assert np.isclose(pool_album(scores, 10.0).sum(), 1.0)


def test_attention_pooling_is_searched_and_saved(tmp_path):
    rng = np.random.default_rng(13)
    albums = [_album(e, f"a{i}", rng) for e in range(3) for i in range(3)]
    model = train_event_model(albums, pooling="attention")
    from galprof.learn.events import BETAS

    assert model.sharpness in BETAS
    model.sharpness = 5.0
    model.save(tmp_path / "m.model")
    assert EventModel.load(tmp_path / "m.model").sharpness == 5.0
