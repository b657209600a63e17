"""Where the demo's new releases land: ``make new-releases``' figures, read from the graph.

Reads the current model's answers as ``mmkg recommend`` gives them (:func:`mmkg.recommend.for_user`,
which writes nothing) for every user of the catalog, and the catalog's hidden truth
(``ground_truth/users`` and ``new_releases/ground_truth/tracks``, which ingest never reads), and
prints, with the machine and the command:

- **reach**: the users with at least one new release in their top ``--k`` (listened tracks left
  out, as ``mmkg recommend`` shows them), the share of those slots that new releases hold
  against their share of the catalog's tracks, and how many releases reach anyone;
- **taste**: among those recommended releases, the share whose mood (heard only in the media)
  and whose genre are the user's strongest, against the share expected if a user's releases
  were drawn at random from all releases (*chance*), and the same shares for the catalog's
  tracks in those lists (trained on with their listens), for comparison;
- **reasons**: the share of recommended releases with a modality reason (sound, lyrics,
  cover) among the reasons ``--explain`` shows;
- the same taste figures for ``mmkg recommend USER --new`` (tracks nobody has listened to):
  the share of its rows that are new releases rather than old tracks nobody played.

After ``make new-releases`` (the demo catalog is ``.mmkg/demo/catalog``)::

    python -m bench.new_releases --catalog .mmkg/demo/catalog
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from bench.explain import print_context
from mmkg.config import load_settings
from mmkg.errors import NotFoundError
from mmkg.graph import connect
from mmkg.recommend import for_user
from mmkg.sample_catalog import GENRES, MOODS, NEW_RELEASES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--catalog", type=Path, default=Path(".mmkg/demo/catalog"))
    parser.add_argument("--k", type=int, default=10, help="the top list measured (default 10)")
    parser.add_argument("--new-k", type=int, default=5, help="rows of `recommend --new` (default 5)")
    args = parser.parse_args()
    settings = load_settings()
    print_context(settings)
    users = pd.read_csv(args.catalog / "ground_truth" / "users.csv").set_index("user_id")
    releases = pd.read_csv(args.catalog / NEW_RELEASES / "ground_truth" / "tracks.csv")
    releases = releases.set_index("track_id")
    catalog = pd.read_csv(args.catalog / "ground_truth" / "tracks.csv").set_index("track_id")
    truth = pd.concat([catalog, releases])
    n_tracks = len(truth)
    top_mood = users[[f"mood_{m}" for m in MOODS]].idxmax(axis=1).str.removeprefix("mood_")
    top_genre = users[[f"genre_{g}" for g in GENRES]].idxmax(axis=1).str.removeprefix("genre_")
    mood_share = releases["mood"].value_counts(normalize=True)
    genre_share = releases["genre"].value_counts(normalize=True)

    driver = connect(settings)
    database = settings.neo4j.database
    slots, picked, warm, new_rows, missing, without_new = 0, [], [], [], [], 0
    try:
        for user in users.index:
            try:
                rows = for_user(driver, database, user, k=args.k, explain=True).rows
            except NotFoundError as e:
                missing.append(f"{user}: {e}")
                continue
            try:
                new_rows += [(user, r["trackId"]) for r in
                             for_user(driver, database, user, k=args.new_k, new_only=True).rows]
            except NotFoundError:  # no track without a listen in the model's list for the user
                without_new += 1
            slots += len(rows)
            picked += [(user, r["trackId"], any(kind != "kg" for kind in r["reasonKinds"]))
                       for r in rows if r["trackId"] in releases.index]
            warm += [(user, r["trackId"]) for r in rows if r["trackId"] in catalog.index]
    finally:
        driver.close()
    if missing:
        sys.exit(f"{len(missing)} user(s) without recommendations, e.g. {missing[0]}: run "
                 "`make new-releases` first")

    def taste(pairs: list[tuple], chance: bool = True) -> str:
        mood = sum(truth.at[t, "mood"] == top_mood[u] for u, t, *_ in pairs) / len(pairs)
        mood_chance = sum(mood_share.get(top_mood[u], 0.0) for u, *_ in pairs) / len(pairs)
        genre = sum(truth.at[t, "genre"] == top_genre[u] for u, t, *_ in pairs) / len(pairs)
        genre_chance = sum(genre_share.get(top_genre[u], 0.0) for u, *_ in pairs) / len(pairs)
        if not chance:
            return f"the user's strongest mood {mood:.0%}, strongest genre {genre:.0%}"
        return (f"the user's strongest mood {mood:.0%} (chance {mood_chance:.0%}), "
                f"strongest genre {genre:.0%} (chance {genre_chance:.0%})")

    reached = {u for u, *_ in picked}
    print(f"reach: {len(reached)} of {len(users)} users have a new release in their top {args.k}; "
          f"releases hold {len(picked)} of {slots} slots ({len(picked) / slots:.1%}; "
          f"{len(releases) / n_tracks:.1%} of the tracks); "
          f"{len({t for _, t, _ in picked})} of {len(releases)} releases reach someone")
    if picked:
        print(f"taste: of the recommended releases, {taste(picked)}; of the catalog's tracks "
              f"in the same lists, {taste(warm, chance=False)}")
        print(f"reasons: {sum(m for *_, m in picked) / len(picked):.0%} of the recommended releases "
              f"show a modality reason (sound, lyrics or cover)")
    fresh = [(u, t) for u, t in new_rows if t in releases.index]
    print(f"recommend --new --k {args.new_k}: {len(new_rows)} rows ({without_new} user(s) got none), "
          f"{len(fresh)} of them new releases "
          f"({len(fresh) / max(len(new_rows), 1):.0%}; the rest: old tracks nobody played)"
          + (f"; of the releases, {taste(fresh)}" if fresh else ""))


if __name__ == "__main__":
    main()
