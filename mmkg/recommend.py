"""Read recommendations from Neo4j: the current published model's answers, via ``cypher/`` files.

Every function runs the same ``.cypher`` files one pastes into Neo4j Browser
(``recommend``, ``cold_start``, ``explain``, ``similar_tracks``; ``recommend_user_state`` and
``recommend_track_state`` decide which applies, ``genre_known`` says when ``genre`` names none)
and returns rows as dicts with a 1-based ``rank``, the ``model`` whose list or vectors gave them,
and what they are (:data:`SCORE_KINDS`): ``method``, how the list was made, and ``scoreKind``, what
its ``score`` is. Who gets what:

- a user the current model knows → ``recommend.cypher`` (their exact top-K, minus listened
  tracks) when the model is served from top-K (``Model.serve = 'topk'``), or
  ``recommend_vectors.cypher`` (ranked at query time from their vector and the track serving
  index, minus listened tracks) when it is served from vectors;
- a user newer than the model who has listened to something → ``cold_start.cypher`` from those
  of their tracks that have a vector of the model (``Recommendations.cold_start`` is True; the
  others are ``Recommendations.left_out``), :class:`NotFoundError` when none has;
- an unknown user, a user without history, or no published model → :class:`NotFoundError`
  with a one-line hint.

:func:`for_user` reads the model's state and its rows (and the reasons) in ONE read transaction,
so a publish flipping meanwhile never mixes two models in one answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neo4j import Driver

from mmkg.errors import NotFoundError
from mmkg.graph import read_together
from mmkg.schema import KG_LABEL_NAMES, MAX_ID_LENGTH, MEDIA_PROPS, NON_KG_RELS, Serve


REASONS = 3
"""Reasons ``for_user(..., explain=True)`` gives a track at most (``explain.cypher``'s ``$limit``)."""


@dataclass
class Recommendations:
    """Ranked tracks from model ``model`` for ``user`` (None: someone known only by liked tracks,
    ``--like``).

    ``history``: how many tracks the user listened to (with ``--like``: how many distinct tracks
    they like). ``cold_start``: the rows are ranked from the mean vector of those tracks;
    ``left_out`` then names those of them that have no vector of the model, which the answer could
    not use, and ``left_out_why`` says why (:func:`why_no_vector`; '' when none is left out).
    ``stored``: the length of the user's top list when it is read from ``RECOMMENDED`` (a model
    served from top-K, a known user), which caps what ``k`` gets; else None."""

    user: str | None
    model: str
    rows: list[dict] = field(default_factory=list)
    cold_start: bool = False
    history: int = 0
    stored: int | None = None
    left_out: list[str] = field(default_factory=list)
    left_out_why: str = ""

    @property
    def used(self) -> int:
        """How many of the ``history`` tracks the answer comes from."""
        return self.history - len(self.left_out)


SHOWN = 5
"""Track ids a message names at most (then "and N more")."""
ECHOED = 64
"""Characters of an id or name a message echoes whole; of a longer one it echoes the first
:data:`ECHOED_HEAD` and the length."""
ECHOED_HEAD = 40


def shown(value: str, *, quote: bool = False, an_id: bool = True) -> str:
    """``value`` (an id, or with ``an_id`` False a name, someone gave) as a message echoes it, in
    quotes (``repr``) with ``quote``: whole up to :data:`ECHOED` characters; else its first
    :data:`ECHOED_HEAD`, "…", and its length, which for an id says too when no id can be that long
    (:data:`MAX_ID_LENGTH`): ``'xxx…' (5,000 characters; no id is longer than 1,024)``."""
    if len(value) <= ECHOED:
        return repr(value) if quote else value
    head = value[:ECHOED_HEAD] + "…"
    never = f"; no id is longer than {MAX_ID_LENGTH:,}" if an_id and len(value) > MAX_ID_LENGTH else ""
    return f"{repr(head) if quote else head} ({len(value):,} characters{never})"


def listed(ids: list[str]) -> str:
    """``ids`` (each :func:`shown`) joined with commas, the first :data:`SHOWN` of them and "and
    N more"."""
    more = f" and {len(ids) - SHOWN:,} more" if len(ids) > SHOWN else ""
    return ", ".join(shown(i) for i in ids[:SHOWN]) + more


SCORE_KINDS = {
    Serve.TOPK.value: "sigmoid",
    Serve.VECTORS.value: "sigmoid",
    "cold-start": "cosine",
    "similar": "cosine",
}
"""Each row's ``method`` → its ``scoreKind``. Methods: ``topk``, a known user's stored top-K list
(``recommend.cypher``); ``vectors``, a known user's list ranked at query time from their vector
(``recommend_vectors.cypher``); ``cold-start``, the tracks nearest the mean vector of given tracks
(``cold_start.cypher``); ``similar``, the tracks nearest one track (``similar_tracks.cypher``).
Score kinds: ``sigmoid``, the model's score of the user and the track through a sigmoid, as
``RECOMMENDED.score`` (``sigmoid(u·t)`` for a model scored by a dot product); ``cosine``,
``(1 + cos) / 2`` of the track's vector and the mean vector or the one track, in [0, 1]. Scores of
different kinds do not compare."""


def described(rows: list[dict], method: str) -> list[dict]:
    """``rows`` with their ``method`` and its ``scoreKind`` (:data:`SCORE_KINDS`) added."""
    return [{**row, "method": method, "scoreKind": SCORE_KINDS[method]} for row in rows]


def ranked(rows: list[dict]) -> list[dict]:
    """``rows`` with a 1-based ``rank`` added in their order."""
    return [{**row, "rank": rank} for rank, row in enumerate(rows, start=1)]


NO_VECTOR_YET = ("a track that arrived after the model was trained gets one from `mmkg publish RUN "
                 "--new-tracks` when it has media features or KG facts that model was trained on, "
                 "else from the next `mmkg train`")
NOTHING_TO_PLACE_BY = ("nothing places {them} until an ingest gives {them} media or KG facts (an "
                       "artist, album, genre or tag)")
"""What is said of tracks with neither a feature, a media file nor a KG relationship (as
``mmkg ingest`` says it); ``{them}``: "it" or "them"."""


def why_no_vector(read, track_ids: list[str]) -> str:
    """Why the existing tracks ``track_ids``, none with a vector of the current model, have none,
    and what would give them one: ``mmkg publish RUN --new-tracks`` for those with a feature, a
    media file or a KG relationship (``tracks_placeable.cypher``), nothing but an ingest for the
    others, which are named when only some are so bare."""
    rows = read("tracks_placeable", trackIds=track_ids, kg_labels=KG_LABEL_NAMES,
                non_kg=sorted(NON_KG_RELS), media=list(MEDIA_PROPS))
    bare = [r["id"] for r in rows if not r["placeable"]]
    if not bare:
        return NO_VECTOR_YET
    them = "it" if len(bare) == 1 else "them"
    nothing = NOTHING_TO_PLACE_BY.format(them=them)
    if len(bare) == len(rows):
        return f"{'it has' if them == 'it' else 'they have'} neither media nor KG facts: {nothing}"
    return (f"{NO_VECTOR_YET}; {listed(bare)} {'has' if them == 'it' else 'have'} neither media "
            f"nor KG facts, and {nothing}")


def check_tracks(read, track_ids: list[str]) -> list[dict]:
    """``recommend_track_state.cypher``'s rows for ``track_ids`` (``read`` as
    :func:`mmkg.graph.read_together`'s).

    Raises:
        NotFoundError: a track is unknown, no model is published, or none of the tracks has a
            vector of the current model (saying what would give them one, see
            :func:`why_no_vector`).
    """
    rows = read("recommend_track_state", trackIds=track_ids)
    unknown = [r["id"] for r in rows if not r["exists"]]
    if unknown:
        raise NotFoundError(f"unknown track(s): {listed(unknown)}")
    if not rows or rows[0]["model"] is None:
        raise NotFoundError("no model is published yet: run `mmkg publish RUN_DIR`")
    if not any(r["embedded"] for r in rows):
        raise NotFoundError(f"no vector for {listed(track_ids)} in the current model {rows[0]['model']}: "
                            f"{why_no_vector(read, track_ids)}")
    return rows


def for_liked_tracks(driver: Driver, database: str, track_ids: list[str], *, k: int = 10,
                     genre: str | None = None, new_only: bool = False,
                     explain: bool = False) -> Recommendations:
    """Cold start: the ``k`` tracks nearest to the mean embedding of those of ``track_ids`` that
    have a vector of the current model (with ``new_only``, the ``k`` nearest tracks nobody has
    listened to; with ``genre``, the nearest of that genre), read in one transaction; the others
    are the answer's ``left_out``.

    With ``explain`` each row gets ``reasons`` and ``reasonKinds`` as from :func:`for_user`,
    relative to the liked tracks ("... as 2 track(s) you like", "sounds like '<liked track>'").

    Raises:
        NotFoundError: an unknown track, no published model, none of the tracks with a vector,
            or no row (one line).
    """
    liked = list(dict.fromkeys(track_ids))

    def work(read) -> Recommendations:
        tracks = check_tracks(read, liked)
        result = Recommendations(None, tracks[0]["model"], cold_start=True, history=len(liked))
        _cold_start(read, result, tracks, k=k, genre=genre, new_only=new_only)
        if explain:
            _add_reasons(read, result.rows, userId=None, likedTrackIds=liked, similarTo=None)
        return result

    return read_together(driver, database, work)


def for_user(driver: Driver, database: str, user: str, *, k: int = 10, genre: str | None = None,
             new_only: bool = False, explain: bool = False) -> Recommendations:
    """Top-``k`` tracks for ``user`` (see the module docstring for who gets what), read in one
    transaction.

    With ``new_only`` only **new releases**: tracks nobody has listened to, which the model
    places by their media and KG facts alone (``mmkg publish RUN --new-tracks`` embeds those
    ingested after training). For a user the current model knows they are taken from the
    model's top list, as ``genre`` filters it; for a user newer than the model, the cold start
    compares every new release with the mean vector of the user's tracks.

    With ``explain`` each row gets ``reasons``: up to :data:`REASONS` sentences from
    ``explain.cypher`` (knowledge-graph paths and calibrated modality similarities to tracks the
    user listened to, alternating), and ``reasonKinds``: each one's kind (``'kg'``, ``'audio'``,
    ``'sentiment'``, ``'text'``, ``'image'``).

    Raises:
        NotFoundError: unknown user, no published model, no history, a user newer than the
            model none of whose tracks has a vector of it, or no row (one line).
    """
    return read_together(driver, database, lambda read: _for_user(
        read, user, k=k, genre=genre, new_only=new_only, explain=explain))


def _for_user(read, user: str, *, k: int, genre: str | None, new_only: bool,
              explain: bool) -> Recommendations:
    """:func:`for_user` with ``read(name, **params)`` running each query in one transaction.

    The answer names the model its rows were read under (``recommend.cypher`` and
    ``recommend_vectors.cypher`` return it): a flip committing between the state query and the
    rows must not put the old model's id above the new model's rows.
    """
    state = read("recommend_user_state", userId=user)[0]
    if not state["exists"]:
        raise NotFoundError(f"unknown user {shown(user, quote=True)}")
    if state["model"] is None:
        raise NotFoundError("no model is published yet: run `mmkg publish RUN_DIR`")
    result = Recommendations(user, state["model"], history=len(state["history"]))
    if state["known"]:
        query = "recommend_vectors" if state["serve"] == Serve.VECTORS else "recommend"
        if query == "recommend":
            result.stored = state["stored"]
        result.rows = described(read(query, userId=user, k=k, genre=genre, newOnly=new_only),
                                state["serve"])
        if not result.rows:
            if genre is not None:
                check_genre(read, genre)
            raise NotFoundError(_no_rows(user, state["model"], genre, new_only))
        result.model = result.rows[0]["model"]
    elif state["history"]:
        result.cold_start = True
        tracks = read("recommend_track_state", trackIds=state["history"])
        if not any(r["embedded"] for r in tracks):
            raise NotFoundError(_none_embedded(user, result.model, state["history"],
                                               why_no_vector(read, state["history"])))
        _cold_start(read, result, tracks, k=k, genre=genre, new_only=new_only)
    else:
        raise NotFoundError(f"user {shown(user, quote=True)} has no listening history; try "
                            "`mmkg recommend --like TRACK [--like TRACK ...]`")
    if explain:
        _add_reasons(read, result.rows, userId=user, likedTrackIds=None, similarTo=None)
    return result


def _none_embedded(user: str, model: str, history: list[str], why: str) -> str:
    """The one-line reason a user newer than ``model`` gets nothing: none of the tracks they
    listened to (``history``) has a vector of it, ``why`` (:func:`why_no_vector`)."""
    tracks = ("the one track they listened to has no vector of it" if len(history) == 1
              else f"none of the {len(history):,} tracks they listened to has a vector of it")
    return f"user {shown(user, quote=True)} is newer than model {model}, and {tracks}: {why}"


def _cold_start(read, result: Recommendations, tracks: list[dict], *, k: int, genre: str | None,
                new_only: bool) -> None:
    """Give ``result`` the ranked rows of ``cold_start.cypher`` from those of ``tracks``
    (``recommend_track_state.cypher``'s rows, one at least with a vector) that have a vector of
    the current model, and ``left_out`` (the others) with ``left_out_why``.

    Raises:
        NotFoundError: ``genre`` names no genre, or no track besides the given ones passes the
            ``genre`` and ``new_only`` filters with a vector (one line).
    """
    used = [r["id"] for r in tracks if r["embedded"]]
    result.left_out = [r["id"] for r in tracks if not r["embedded"]]
    if result.left_out:
        result.left_out_why = why_no_vector(read, result.left_out)
    result.rows = described(ranked(read("cold_start", trackIds=used, k=k, genre=genre,
                                        newOnly=new_only)), "cold-start")
    if not result.rows:
        if genre is not None:
            check_genre(read, genre)
        what = "new release (a track nobody has listened to)" if new_only else "track"
        where = f" of genre {shown(genre, quote=True, an_id=False)}" if genre is not None else ""
        raise NotFoundError(f"no {what}{where} besides the given ones has a vector of the current "
                            f"model; {NO_VECTOR_YET}")
    result.model = result.rows[0]["model"]  # the rows' model, even if a publish flipped meanwhile


def _add_reasons(read, rows: list[dict], **whose) -> None:
    """Give each row ``reasons``, up to :data:`REASONS` sentences of ``explain.cypher`` for its
    track (``whose``: its ``userId``, ``likedTrackIds`` and ``similarTo``), and ``reasonKinds``,
    their kinds."""
    for row in rows:
        reasons = read("explain", **whose, explainedTrackId=row["trackId"], limit=REASONS)
        row["reasons"] = [r["reason"] for r in reasons]
        row["reasonKinds"] = [r["kind"] for r in reasons]


def check_genre(read, genre: str) -> None:
    """Raise :class:`NotFoundError`, naming the genres there are, if ``genre`` is neither a
    genre's id nor its name (in any case)."""
    known = read("genre_known", genre=genre)[0]
    if not known["known"]:
        names = ", ".join(repr(name) for name in known["names"]) or "none: the catalog has no genre"
        raise NotFoundError(f"unknown genre {shown(genre, quote=True, an_id=False)}; genres (by id or "
                            f"name): {names}")


def _no_rows(user: str, model: str, genre: str | None, new_only: bool) -> str:
    """The one-line reason a known user got no rows."""
    who = shown(user, quote=True)
    where = f" in genre {shown(genre, quote=True, an_id=False)}" if genre else ""
    if new_only:
        return (f"no new release (a track nobody has listened to){where} among model {model}'s "
                f"top list for user {who}; tracks ingested after training get there with "
                "`mmkg publish RUN --new-tracks`")
    if genre:
        return f"no recommendations for user {who}{where} among model {model}'s top list"
    return f"user {who} already listened to every track model {model} recommends"


def similar_tracks(driver: Driver, database: str, track: str, *, k: int = 10,
                   explain: bool = False) -> list[dict]:
    """The ``k`` tracks nearest to ``track`` in the current embedding space (vector index).

    With ``explain`` each row gets ``reasons`` and ``reasonKinds`` as from :func:`for_user`,
    relative to ``track`` alone ("same Genre 'rock' as '<track>'", "sounds like '<track>'").
    """
    def work(read) -> list[dict]:
        check_tracks(read, [track])
        rows = described(ranked(read("similar_tracks", trackId=track, k=k)), "similar")
        if explain:
            _add_reasons(read, rows, userId=None, likedTrackIds=None, similarTo=track)
        return rows

    return read_together(driver, database, work)
