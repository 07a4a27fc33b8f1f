"""Latent interests shared across users: a topic model over each user's counts of classifier classes
and detector objects, as in the User Image Latent Space Model of mining interests from personal photos.

Each user is a document whose words are the classes (`class:<label>`) and objects (`object:<label>`)
of their profile, counted in photos. Latent Dirichlet allocation (scikit-learn) learns K topics: a
distribution over those words each, named by its top words and by the taxonomy categories they map
to, and a mixture over the topics for each user. K is chosen by held-out perplexity: fit on a
seeded 75 % of the users, score the other 25 %.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from galprof.analysis.interests import Taxonomy

CLASS, OBJECT = "class", "object"


@dataclass
class UserCounts:
    """users x words: photos of each user showing each class or object."""

    users: list[str]
    words: list[str]  # "class:<label>" or "object:<label>"
    counts: np.ndarray  # (users, words) float

    def rows(self, indexes: np.ndarray) -> UserCounts:
        return UserCounts([self.users[i] for i in indexes], self.words, self.counts[indexes])


def counts_from_profiles(profiles: dict[str, dict]) -> UserCounts:
    """The word counts of every profile (its `classes` and `objects` sections), users sorted by name."""
    per_user: dict[str, dict[str, float]] = {}
    for name in sorted(profiles):
        doc = profiles[name]
        row: dict[str, float] = defaultdict(float)
        for source, section in ((CLASS, "classes"), (OBJECT, "objects")):
            for entry in doc.get(section, {}).get("classes", []):
                row[f"{source}:{entry['label']}"] += float(entry.get("photos", 0))
        per_user[name] = row
    words = sorted({w for row in per_user.values() for w in row})
    index = {w: i for i, w in enumerate(words)}
    counts = np.zeros((len(per_user), len(words)), dtype=float)
    for u, row in enumerate(per_user.values()):
        for word, n in row.items():
            counts[u, index[word]] = n
    return UserCounts(list(per_user), words, counts)


def fit_lda(counts: np.ndarray, k: int, seed: int = 0):
    from sklearn.decomposition import LatentDirichletAllocation

    model = LatentDirichletAllocation(n_components=k, learning_method="batch", max_iter=200, random_state=seed)
    model.fit(counts)
    return model


def split_users(n: int, test_fraction: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split of user indexes: (train, held out); at least one user on each side."""
    order = np.random.default_rng(seed).permutation(n)
    held = max(1, round(n * test_fraction))
    return np.sort(order[held:]), np.sort(order[:held])


def held_out_perplexity(data: UserCounts, ks: list[int], seed: int = 0) -> dict[int, float]:
    """Perplexity of the held-out users' words under a model fit on the other users, for each K."""
    if len(data.users) < 4:
        raise ValueError(f"held-out perplexity needs at least 4 users with classes or objects, not {len(data.users)}")
    train, test = split_users(len(data.users), seed=seed)
    return {k: float(fit_lda(data.counts[train], k, seed).perplexity(data.counts[test])) for k in ks}


def _categories_of(word: str, taxonomy: Taxonomy) -> list[str]:
    source, _, label = word.partition(":")
    mappings = (taxonomy.classifier if source == CLASS else taxonomy.detector).get(label, [])
    return sorted({m.category for m in mappings})


def topics_document(model, data: UserCounts, taxonomy: Taxonomy, top_words: int = 8) -> dict:
    """The JSON-ready topics: per topic its top words and categories, per user the mixture."""
    weights = model.components_ / model.components_.sum(axis=1, keepdims=True)
    topics = []
    for t, row in enumerate(weights):
        order = np.argsort(-row)[:top_words]
        categories: dict[str, float] = defaultdict(float)
        for w, p in enumerate(row):
            for category in _categories_of(data.words[w], taxonomy):
                categories[category] += float(p)
        top_categories = sorted(categories.items(), key=lambda kv: -kv[1])[:3]
        topics.append({
            "id": t,
            "words": [{"source": data.words[w].partition(":")[0], "label": data.words[w].partition(":")[2],
                       "weight": round(float(row[w]), 4)} for w in order],
            "categories": [{"id": c, "weight": round(p, 4)} for c, p in top_categories if p >= 0.01],
        })
    mixtures = model.transform(data.counts) if len(data.users) else np.zeros((0, len(topics)))
    return {
        "k": len(topics), "users_count": len(data.users), "vocabulary": len(data.words),
        "topics": topics,
        "users": {name: [round(float(p), 4) for p in mixture] for name, mixture in zip(data.users, mixtures)},
    }


def profile_topics(document: dict, user: str, source: str) -> dict:
    """What --apply adds to a user's profile: the mixture and the dominant topic's words."""
    mixture = document["users"][user]
    top = int(np.argmax(mixture))
    return {"source": source, "k": document["k"], "mixture": mixture, "top": top,
            "top_words": [w["label"] for w in document["topics"][top]["words"][:5]],
            "top_categories": [c["id"] for c in document["topics"][top]["categories"]]}
