"""Latent interests across users: on users generated from planted themes the topics recover the
themes (checked on held-out users), held-out perplexity prefers the planted K, and `galprof topics`
writes topics.json and, with --apply, a valid `topics` section in each profile."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
from click.testing import CliRunner
from scipy.optimize import linear_sum_assignment

from galprof.analysis.interests import Taxonomy
from galprof.batch.galleries import find_galleries
from galprof.batch.runner import BatchOptions, run_batch
from galprof.cli import main
from galprof.config import Settings
from galprof.engine.inline import InlineEngine
from galprof.learn.topics import UserCounts, fit_lda, held_out_perplexity, split_users, topics_document
from galprof.profile import load_schema
from tests.batch_fakes import label_factory, user_gallery

PLANTED = {  # theme: ImageNet classes of models/taxonomy.json that a user of that theme photographs
    "food": ["pizza", "cheeseburger", "ice cream", "plate", "hot dog", "burrito"],
    "outdoors": ["mountain", "valley", "volcano", "cliff", "lakeshore", "sandbar"],
    "cars": ["sports car", "convertible", "minivan", "jeep", "taxicab", "pickup truck"],
    "pets": ["tabby cat", "Persian cat", "Siamese cat", "Labrador Retriever", "pug", "Beagle"],
}


def planted_users(n: int = 48, photos: int = 60, seed: int = 1) -> tuple[UserCounts, np.ndarray]:
    """Users with a planted mixture: a main theme (70 %) and a second one (30 %); word counts drawn
    from each theme's own (uneven) distribution over its classes. Returns counts and the mixtures."""
    rng = np.random.default_rng(seed)
    themes = list(PLANTED)
    words = [f"class:{label}" for theme in themes for label in PLANTED[theme]]
    theme_words = np.zeros((len(themes), len(words)))
    for t, theme in enumerate(themes):
        theme_words[t, t * 6:(t + 1) * 6] = rng.dirichlet(np.full(6, 2.0))
    mixtures = np.zeros((n, len(themes)))
    for u in range(n):
        main_theme, second = rng.choice(len(themes), size=2, replace=False)
        mixtures[u, main_theme], mixtures[u, second] = 0.7, 0.3
    counts = np.array([rng.multinomial(photos, m @ theme_words) for m in mixtures], dtype=float)
    return UserCounts([f"user{u:02d}" for u in range(n)], words, counts), mixtures


def test_topics_recover_the_planted_themes_on_held_out_users():
    data, mixtures = planted_users()
    train, test = split_users(len(data.users))
    model = fit_lda(data.counts[train], 4)
    # name each learned topic after the planted theme it puts most weight on (one theme per topic)
    weights = model.components_ / model.components_.sum(axis=1, keepdims=True)
    theme_of_word = np.repeat(np.arange(4), 6)
    mass = np.array([[weights[t, theme_of_word == th].sum() for th in range(4)] for t in range(4)])
    topics, themes = linear_sum_assignment(-mass)
    assert mass[topics, themes].min() > 0.9  # each topic is one theme's words
    held = model.transform(data.counts[test])[:, np.argsort(themes)]  # columns in theme order
    assert (held.argmax(axis=1) == mixtures[test].argmax(axis=1)).mean() >= 0.9
    assert np.abs(held - mixtures[test]).mean() < 0.12


def test_held_out_perplexity_prefers_the_planted_k():
    data, _ = planted_users()
    by_k = held_out_perplexity(data, [1, 2, 4])
    assert by_k[4] < by_k[2] < by_k[1]


def test_topics_document_names_topics_by_words_and_categories():
    data, _ = planted_users(n=24)
    document = topics_document(fit_lda(data.counts, 4), data, Taxonomy.load())
    assert document["k"] == 4 and len(document["users"]) == 24
    assert all(abs(sum(m) - 1) < 1e-3 for m in document["users"].values())
    categories = {c["id"] for t in document["topics"] for c in t["categories"][:1]}
    assert {"food"} <= categories and len(categories) >= 3
    food = next(t for t in document["topics"] if t["categories"][0]["id"] == "food")
    assert {w["label"] for w in food["words"][:4]} <= set(PLANTED["food"])


def test_cli_topics_on_a_batch_and_apply(tmp_path):
    parent = tmp_path / "users"
    for u in range(6):  # two kinds of users: mountains and pizza, or sports cars and espresso
        user_gallery(parent / f"u{u}", {"mountain": 5, "pizza": 3} if u % 2 else {"sports car": 5, "espresso": 3})
    out = tmp_path / "out"
    run_batch(find_galleries(parent), InlineEngine(),
              BatchOptions(out, Settings(), analyzer_factory=label_factory, quiet=True))
    runner = CliRunner()
    result = runner.invoke(main, ["topics", str(out), "-k", "2", "-o", str(out / "topics.json"), "--apply",
                                  "--sweep", "1,2"])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "topics.json").read_text())
    assert document["k"] == 2 and sorted(document["users"]) == [f"u{u}" for u in range(6)]
    assert set(document["perplexity"]["by_k"]) == {"1", "2"}
    tops = {u: int(np.argmax(m)) for u, m in document["users"].items()}
    assert tops["u1"] == tops["u3"] == tops["u5"] != tops["u0"] == tops["u2"] == tops["u4"]
    profile = json.loads((out / "u1.json").read_text())
    jsonschema.validate(profile, load_schema())
    assert profile["topics"]["top"] == tops["u1"] and set(profile["topics"]["top_words"]) >= {"mountain", "pizza"}
    # topics.json in OUTDIR is not a profile: a second run sees the same 6 users
    again = runner.invoke(main, ["topics", str(out), "-k", "2"])
    assert again.exit_code == 0 and sorted(json.loads(again.stdout)["users"]) == sorted(document["users"])
    too_many = runner.invoke(main, ["topics", str(out), "-k", "9"])
    assert too_many.exit_code == 2 and "more topics than users" in too_many.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    none = runner.invoke(main, ["topics", str(empty)])
    assert none.exit_code == 2 and "at least 2 profiles" in none.stderr
    assert Path(out / "topics.json").stat().st_mode & 0o777 == 0o600
