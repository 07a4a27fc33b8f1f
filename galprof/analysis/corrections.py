"""People corrections made by the user (`galprof people name|merge|not`), kept in the store's small JSON
state and applied by the people stage to every profile it builds.

The clustering and the stable ids are left as they are: a correction is a rule over stable person ids,
applied after each clustering, so it holds through re-scans and new photos as long as the id does.
- name ID NAME: person ID is shown with that name (the latest naming wins, merged persons included);
- merge A B: every face of B becomes A's (chains resolve: merge 1 2 then merge 3 1 puts all in 3);
- not ID PATH: the faces of PATH that the clustering gave to ID (after merges) get no person; the next
  scan's clustering may put them there again, and this rule takes them out again.
A correction whose person is not in this profile is not applied and is reported as a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

STATE_KEY = "people.corrections"
STATE_VERSION = 1
ACTIONS = ("name", "merge", "not")


@dataclass
class Correction:
    number: int  # stable: `--undo N` names it, numbers are never reused
    action: str  # one of ACTIONS
    person: int  # name/not: the person; merge: the one that keeps its id
    other: int | None = None  # merge: the person joined into `person`
    name: str | None = None  # name
    path: str | None = None  # not: the photo or video, as the cache stores it

    def describe(self) -> str:
        if self.action == "name":
            return f"person {self.person} is named {self.name!r}"
        if self.action == "merge":
            return f"person {self.other} is person {self.person}"
        return f"the faces of {self.path} are not person {self.person}"


@dataclass
class Corrections:
    items: list[Correction] = field(default_factory=list)
    next_number: int = 1

    @classmethod
    def from_state(cls, state: dict | None) -> Corrections:
        if not state or state.get("version") != STATE_VERSION:
            return cls()
        items = [Correction(**item) for item in state.get("items", [])]
        return cls(items, int(state.get("next_number", len(items) + 1)))

    def to_state(self) -> dict:
        return {"version": STATE_VERSION, "next_number": self.next_number,
                "items": [asdict(c) for c in self.items]}

    def add(self, action: str, person: int, other: int | None = None, name: str | None = None,
            path: str | None = None) -> Correction:
        if action not in ACTIONS:
            raise ValueError(f"unknown correction {action!r}")
        correction = Correction(self.next_number, action, person, other, name, path)
        self.items.append(correction)
        self.next_number += 1
        return correction

    def undo(self, number: int) -> Correction | None:
        """Remove correction `number`; None when there is none by that number."""
        for k, c in enumerate(self.items):
            if c.number == number:
                return self.items.pop(k)
        return None


@dataclass
class Applied:
    """The people stage's face -> person ids after the corrections, with the names and what was not
    applied."""

    person_ids: list[int | None]
    names: dict[int, str]
    merged: dict[int, list[int]]  # person -> the ids merged into it
    notes: list[dict[str, str]]  # profile notes: path, stage, reason


def apply_corrections(person_ids: Sequence[int | None], paths: Sequence[str],
                      corrections: Corrections) -> Applied:
    """Apply `corrections` in order to the faces' person ids (None = no person); `paths[i]` is face i's
    file."""
    ids = list(person_ids)
    present = {p for p in ids if p is not None}
    parent: dict[int, int] = {}

    def resolve(pid: int) -> int:
        while pid in parent:
            pid = parent[pid]
        return pid

    named: list[Correction] = []
    notes: list[dict[str, str]] = []
    ejected: list[tuple[set[int], str]] = []  # the clustering's ids the person held then, and the path
    for c in corrections.items:
        missing = [p for p in (c.person, c.other) if p is not None and p not in present]
        if missing:
            notes.append({"path": c.path or "", "stage": "people", "reason":
                          f"correction {c.number} ({c.describe()}) not applied: no person "
                          f"{', '.join(map(str, missing))} in this profile"})
        elif c.action == "merge":
            a, b = resolve(c.person), resolve(c.other)
            if a != b:
                parent[b] = a
        elif c.action == "name":
            named.append(c)
        else:
            target = resolve(c.person)
            ejected.append(({p for p in present if resolve(p) == target}, c.path or ""))
    raw = ids
    ids = [None if p is None else resolve(p) for p in raw]
    for members, path in ejected:
        for i, p in enumerate(raw):
            if p in members and paths[i] == path:
                ids[i] = None
    # in order, so the latest naming of a person (merged ones included) wins
    names = {resolve(c.person): c.name or "" for c in named}
    merged: dict[int, list[int]] = {}
    for b in parent:
        merged.setdefault(resolve(b), []).append(b)
    return Applied(ids, names, {k: sorted(v) for k, v in merged.items()}, notes)
