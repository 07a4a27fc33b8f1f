"""`galprof topics OUTDIR -k K -o topics.json`: latent interests learned across a batch's users."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from galprof.errors import UsageError
from galprof.render.safe import safe_text


def _profiles(outdir: Path, skip: Path | None) -> dict[str, dict]:
    from galprof.render.json import read_json

    found = {}
    for path in sorted(outdir.glob("*.json")):
        if skip is not None and path.resolve() == skip.resolve():
            continue
        try:
            found[path.stem] = read_json(path)
        except (OSError, ValueError):  # topics.json, another tool's file: not a user's profile
            continue
    return found


def _ks(text: str | None) -> list[int]:
    if not text:
        return []
    try:
        ks = sorted({int(k) for k in text.split(",") if k.strip()})
    except ValueError:
        raise click.BadParameter("a comma-separated list of integers, e.g. 2,4,8", param_hint="--sweep") from None
    if not ks or min(ks) < 1:
        raise click.BadParameter("topic counts must be >= 1", param_hint="--sweep")
    return ks


@click.command("topics")
@click.argument("outdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-k", "k", type=click.IntRange(1), default=8, show_default=True, help="Number of topics.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the topics JSON here [default: stdout].")
@click.option("--sweep", "sweep", default=None, metavar="2,4,8",
              help="Also report held-out perplexity for these K (fit on 75 %% of the users, scored on the rest).")
@click.option("--apply", "apply", is_flag=True, help="Add each user's topic mixture to their profile in OUTDIR.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the model and of the held-out split.")
def topics(outdir: Path, k: int, output: Path | None, sweep: str | None, apply: bool, seed: int) -> None:
    """Learn K latent interests shared by the users whose profiles are in OUTDIR (written by
    `galprof batch`), from their counts of classes and objects: each topic's top classes and
    categories, and each user's mixture over the topics."""
    from galprof.analysis.interests import Taxonomy
    from galprof.learn.topics import (
        counts_from_profiles,
        fit_lda,
        held_out_perplexity,
        profile_topics,
        topics_document,
    )
    from galprof.render.json import dumps, write_json
    from galprof.render.output import write_output

    ks = _ks(sweep)
    profiles = _profiles(outdir, output)
    data = counts_from_profiles(profiles)
    empty = [u for u, row in zip(data.users, data.counts) if not row.any()]
    data = data.rows([i for i, row in enumerate(data.counts) if row.any()])
    if len(data.users) < 2:
        raise UsageError(f"{safe_text(outdir)}: topics need at least 2 profiles with classes or objects, "
                         f"found {len(data.users)}")
    if k > len(data.users):
        raise UsageError(f"-k {k} is more topics than users with classes or objects ({len(data.users)})")
    document = topics_document(fit_lda(data.counts, k, seed), data, Taxonomy.load())
    document["users_without_words"] = empty
    if ks:
        try:
            document["perplexity"] = {"held_out_fraction": 0.25, "seed": seed,
                                      "by_k": {str(n): round(p, 3) for n, p in
                                               held_out_perplexity(data, ks, seed).items()}}
        except ValueError as exc:
            raise UsageError(f"--sweep: {exc}") from None
    write_json(document, output)
    if apply:
        source = str(output) if output is not None else "stdout"
        for user in data.users:
            profiles[user]["topics"] = profile_topics(document, user, source)
            write_output(dumps(profiles[user]), outdir / f"{user}.json")
        click.echo(f"galprof topics: topic mixtures added to {len(data.users)} profiles in {safe_text(outdir)}",
                   err=True)
    sys.exit(0)
