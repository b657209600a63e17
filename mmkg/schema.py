"""The graph schema of mmkg: the only place label, relationship-type and property names are spelled.

Ingest, export, publish, the ``cypher/*.cypher`` files and the tests all take their names from here
(``tests/test_schema.py`` checks that ``cypher/schema.cypher`` agrees with :data:`CONSTRAINTS`).

Graph model::

    (:User)-[:LISTENED {plays, rating, ts}]->(:Track)
    (:Track)-[:PERFORMED_BY]->(:Artist)      (:Track)-[:ON_ALBUM]->(:Album)
    (:Track)-[:HAS_GENRE]->(:Genre)          (:Track)-[:TAGGED]->(:Tag)
    (:Album)-[:PERFORMED_BY]->(:Artist)
    (any KG node)-[:`music.artist.origin`]->(any KG node)     generic KG relations from data
    (:Track)-[:HAS_FEATURE]->(:Feature:Text|Image|Audio|Sentiment {name, dim, vector, ...,
                                                      calibrated})       calibrated by publish
    (:User)-[:RECOMMENDED {score, rank, model}]->(:Track)     written by publish
    (:Model {id, created_at, params, metrics, dataset_manifest, current, complete,
             vector_property, track_index, user_index,
             calibration_features, calibration_thresholds, calibration_percentiles,
             calibration_quantile, calibration_pairs, calibration_digests,
             calibration_seq})                                      written by publish
    Track.embedding_a | Track.embedding_b, User.embedding_a | ...  a model's vectors (VECTOR_SLOTS)
    (:PublishLock {id, owner, host, pid, run, started_at})    while a publish runs
    (:Catalog {id, root})   Track.catalog = its id; Track.lyrics|cover|audio relative to its root

Generic KG relation names (``music.artist.origin``) come from data. They are validated against
:data:`KG_RELATION_PATTERN` and used *verbatim* as the relationship type, quoted with backticks by
:func:`quote`; the mapping is therefore deterministic and trivially reversible (identity), the
names read naturally in Neo4j Browser, and nothing unchecked is ever pasted into query text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from mmkg.errors import SchemaError


class Label(StrEnum):
    """Node labels."""

    TRACK = "Track"
    ARTIST = "Artist"
    ALBUM = "Album"
    GENRE = "Genre"
    TAG = "Tag"
    USER = "User"
    ENTITY = "Entity"
    """A KG entity of unknown type (imported from triple files)."""
    FEATURE = "Feature"
    """A multi-modal attribute node; always carries one :class:`Modality` label too."""
    MODEL = "Model"
    """A published model version (see ``publish/writer.py``)."""
    PUBLISH_LOCK = "PublishLock"
    CATALOG = "Catalog"
    """A catalog folder whose media files tracks reference: its ``id`` (the folder's name) and
    ``root`` (its absolute path on this machine), recorded once per catalog."""
    """At most one node, held by the publish that runs (see ``publish/lock.py``)."""


class Modality(StrEnum):
    """Modality kinds; each is a second label on a :attr:`Label.FEATURE` node."""

    TEXT = "Text"
    IMAGE = "Image"
    AUDIO = "Audio"
    SENTIMENT = "Sentiment"


class RelType(StrEnum):
    """Relationship types with a fixed meaning. Generic KG relations are not listed here."""

    PERFORMED_BY = "PERFORMED_BY"
    ON_ALBUM = "ON_ALBUM"
    HAS_GENRE = "HAS_GENRE"
    TAGGED = "TAGGED"
    LISTENED = "LISTENED"
    HAS_FEATURE = "HAS_FEATURE"
    RECOMMENDED = "RECOMMENDED"


#: Labels whose nodes form the knowledge graph the item aggregator walks (items included).
KG_LABELS: tuple[Label, ...] = (
    Label.TRACK, Label.ARTIST, Label.ALBUM, Label.GENRE, Label.TAG, Label.ENTITY,
)
#: :data:`KG_LABELS` as plain strings, in that order: the ``$kg_labels`` parameter of queries.
KG_LABEL_NAMES: list[str] = [label.value for label in KG_LABELS]
#: Relationship types that are *not* knowledge-graph edges (interactions, features, model output).
NON_KG_RELS: frozenset[str] = frozenset(
    {RelType.LISTENED, RelType.HAS_FEATURE, RelType.RECOMMENDED}
)


class Prop(StrEnum):
    """Property names."""

    ID = "id"
    NAME = "name"
    TITLE = "title"
    ENTITY_ID = "entity_id"
    """On a Track imported from KGCN/MKGCN files: the KG entity id the item stands for."""
    PLAYS = "plays"
    RATING = "rating"
    TS = "ts"
    DIM = "dim"
    VECTOR = "vector"
    EXTRACTOR = "extractor"
    VERSION = "version"
    SOURCE = "source"
    SOURCE_PATH = "source_path"
    """On a Feature computed from a media file: the file's path when it was computed."""
    SOURCE_FINGERPRINT = "source_fingerprint"
    """On a Feature computed from a media file: ``"<size>:<mtime_ns>:<sha256>"`` of the file."""
    TEMPO_BPM = "tempo_bpm"
    """On an audio Feature: readable summaries its extractor computed (``summary`` of
    :mod:`mmkg.ingest.features.audio`): tempo in BPM, loudness in dBFS, brightness in kHz."""
    LOUDNESS_DB = "loudness_db"
    BRIGHTNESS_KHZ = "brightness_khz"
    SENTIMENT_COMPOUND = "sentiment_compound"
    """On a Sentiment Feature: VADER's compound score of the whole lyrics, in [-1, 1]."""
    DOMINANT_COLOUR = "dominant_colour"
    """On an Image Feature: the cover's dominant colour as ``#rrggbb``."""
    EMBEDDING_A = "embedding_a"
    """On a Track or User: a model version's vector, in slot ``a`` of :data:`VECTOR_SLOTS`."""
    EMBEDDING_B = "embedding_b"
    SERVING_A = "serving_a"
    """On a Track, in slot ``a`` of :data:`VECTOR_SLOTS` of a model published with
    ``serve = 'vectors'``: its vector ``t`` mapped for maximum-inner-product search by cosine,
    ``[t / M, sqrt(1 - |t|² / M²)]`` (``M`` = the model's ``serving_norm``)."""
    SERVING_B = "serving_b"
    SERVE = "serve"
    """On a Model: how ``recommend`` reads it: ``'topk'`` (its materialised ``RECOMMENDED``
    relationships) or ``'vectors'`` (ranked at query time from the user's vector and the
    track serving index); a Model without it is ``'topk'``. On the current Model it changes at
    the flip only (a publish of the current version in the other mode does not change it
    before); on another, it is the mode of its latest publish."""
    SERVING_NORM = "serving_norm"
    """On a Model served from vectors: ``M``, the largest norm of its track vectors (changed
    with ``serve``)."""
    HOLDS_RECOMMENDED = "holds_recommended"
    """On a Model: whether it may have ``RECOMMENDED`` relationships: true before a publish
    served from top-K writes any, false once a publish served from vectors deleted them (a Model
    of an mmkg before this property may have some)."""
    SERVING_PROPERTY = "serving_property"
    """On the current Model served from vectors: the Track property of its serving vectors."""
    SERVING_INDEX = "serving_index"
    """On the current Model served from vectors: the cosine vector index over them."""
    VECTOR_PROPERTY = "vector_property"
    """On the current Model: the property holding its vectors (``embedding_a`` or ``_b``)."""
    TRACK_INDEX = "track_index"
    """On the current Model: the name of the vector index over its track vectors."""
    USER_INDEX = "user_index"
    SCORE = "score"
    RANK = "rank"
    MODEL = "model"
    CURRENT = "current"
    COMPLETE = "complete"
    RUN_FOLDER = "run_folder"
    """On a Model: the absolute path of the run folder it was published from."""
    PLACED = "placed"
    """On a Model served from top-K: true once ``mmkg publish RUN --new-tracks`` extended its
    ``RECOMMENDED`` lists with tracks its run did not train on; a publish of the version that
    places none restores the run's own lists and sets it false."""
    CREATED_AT = "created_at"
    PUBLISHED_AT = "published_at"
    PARAMS = "params"
    METRICS = "metrics"
    DATASET_MANIFEST = "dataset_manifest"
    DIMENSION = "dimension"
    K = "k"
    MODEL_TYPE = "model_type"
    """On a Model: the run's model name (``mkgcn``, ``lightgcn``...); beside it its test metrics
    (``test_auc`` ... ``test_ndcg_at_20``), readable copies of ``metrics`` (publish/writer.py)."""
    TEST_AUC = "test_auc"
    TEST_F1 = "test_f1"
    TEST_RECALL_AT_20 = "test_recall_at_20"
    TEST_NDCG_AT_20 = "test_ndcg_at_20"
    LYRICS = "lyrics"
    """On a Track: path of its lyrics file (likewise ``cover``, ``audio``), relative to the root
    of the track's :attr:`CATALOG`; absolute for a file outside the catalog folder (under the
    media.root setting) and on tracks ingested before catalogs were recorded."""
    CATALOG = "catalog"
    """On a Track with media files: the ``id`` of its Catalog node."""
    ROOT = "root"
    """On a Catalog: the absolute path of the catalog folder."""
    COVER = "cover"
    AUDIO = "audio"
    OWNER = "owner"
    """On the PublishLock: a token naming the publish that holds it (likewise ``host``, ``pid``)."""
    HOST = "host"
    PID = "pid"
    RUN = "run"
    STARTED_AT = "started_at"
    CALIBRATED = "calibrated"
    """On a Feature: its vector standardised over the catalog's vectors of the same feature name,
    ``z = (x - mean) / std`` per dimension, then L2-normalised (``publish/calibrate.py``, at publish).
    Compared with ``vector.similarity.cosine`` by ``cypher/explain.cypher``."""
    CALIBRATION_FEATURES = "calibration_features"
    """On a Model: the feature names calibrated at its publish (position ``i`` names the ``i``-th
    entry of ``calibration_thresholds`` and the ``i``-th block of ``calibration_percentiles``)."""
    CALIBRATION_THRESHOLDS = "calibration_thresholds"
    """On a Model: per calibrated feature name, the ``calibration_quantile`` quantile of the
    ``vector.similarity.cosine`` of calibrated vectors over (a seeded sample of) track pairs."""
    CALIBRATION_PERCENTILES = "calibration_percentiles"
    """On a Model: per calibrated feature name, 99 similarities (the 1st .. 99th percentiles of
    the track pairs), the blocks concatenated in ``calibration_features`` order."""
    CALIBRATION_QUANTILE = "calibration_quantile"
    """On a Model: the quantile of track-pair similarity a modality reason must reach (0.95)."""
    CALIBRATION_PAIRS = "calibration_pairs"
    """On a Model: per calibrated feature name, how many track pairs the quantiles come from."""
    CALIBRATION_DIGESTS = "calibration_digests"
    """On a Model: per calibrated feature name, the SHA-256 of the calibration's input (the
    settings, then every Feature id and raw vector of the name in id order): a later publish whose
    input has the same digest reuses the calibration instead of recomputing it."""
    CALIBRATION_SEQ = "calibration_seq"
    """On a Model: the order in which publishes began calibrating (one more than any Model's, set
    before any ``Feature.calibrated`` is written), so that the latest calibration is known even
    when its publish failed."""


@dataclass(frozen=True)
class Constraint:
    """A uniqueness constraint ``(n:label) REQUIRE n.prop IS UNIQUE`` named ``name``."""

    name: str
    label: Label
    prop: Prop = Prop.ID


#: One uniqueness constraint (and so one index) on ``id`` for every label.
CONSTRAINTS: tuple[Constraint, ...] = tuple(
    Constraint(f"{label.value.lower()}_id", label) for label in Label
)

class Serve(StrEnum):
    """How ``recommend`` serves a published model (``Model.serve``, ``mmkg publish --serve``)."""

    TOPK = "topk"
    """Its exact top-K per user, materialised as ``RECOMMENDED`` relationships at publish:
    O(users × K) writes, exact, cheapest reads."""
    VECTORS = "vectors"
    """Ranked at query time from the user's vector and the track serving index
    (``cypher/recommend_vectors.cypher``): publish writes O(users + tracks) vectors only."""


@dataclass(frozen=True)
class VectorSlot:
    """One of the two places on Track and User nodes where a model version's vectors live.

    The current model's vectors are in one slot, named by its ``Model.vector_property`` (and its
    indexes by ``Model.track_index`` / ``Model.user_index``); a publish writes the other slot,
    which no reader looks at, and its flip only moves ``Model.current``. Readers therefore switch
    slots in one small transaction, whatever the number of vectors.
    """

    name: str
    prop: Prop
    indexes: dict[Label, str]
    """The cosine vector index over ``prop`` of each label."""
    serving: Prop
    """The Track property of the serving vectors (``Prop.SERVING_A``), written only when the
    model is served from vectors."""
    serving_index: str
    """The cosine vector index over ``serving``."""

    def model_properties(self, serve_vectors: bool, user_index: bool) -> dict[str, str | None]:
        """What the flip sets on the Model: ``{vectorProperty, trackIndex, userIndex,
        servingProperty, servingIndex}`` (``userIndex`` None unless ``user_index``, the last two
        None unless ``serve_vectors``)."""
        return {"vectorProperty": self.prop.value, "trackIndex": self.indexes[Label.TRACK],
                "userIndex": self.indexes[Label.USER] if user_index else None,
                "servingProperty": self.serving.value if serve_vectors else None,
                "servingIndex": self.serving_index if serve_vectors else None}


VECTOR_SLOTS: tuple[VectorSlot, ...] = tuple(
    VectorSlot(name, prop, {Label.TRACK: f"track_{prop.value}", Label.USER: f"user_{prop.value}"},
               serving, f"track_{serving.value}")
    for name, prop, serving in (("a", Prop.EMBEDDING_A, Prop.SERVING_A),
                                ("b", Prop.EMBEDDING_B, Prop.SERVING_B))
)


def next_vector_slot(current_property: str | None) -> VectorSlot:
    """The slot a publish writes: the one that does not hold the current model's vectors."""
    return next(slot for slot in VECTOR_SLOTS if slot.prop.value != current_property)


#: What mmkg before vector slots wrote (one ``embedding`` per node, copied over in one huge flip
#: transaction); publish drops these indexes and removes these properties once.
LEGACY_VECTOR_PROPERTIES: tuple[str, ...] = ("embedding", "embedding_next")
LEGACY_VECTOR_INDEXES: tuple[str, ...] = ("track_embedding", "user_embedding")

MEDIA_PROPS: tuple[str, ...] = (Prop.LYRICS.value, Prop.COVER.value, Prop.AUDIO.value)
"""The Track properties that name a media file: the catalog's media columns, one per media kind
(``mmkg.ingest.features.MEDIA_KINDS``; ``tests/test_layout.py`` checks they agree)."""

MAX_ID_LENGTH = 1024
"""Longest id (characters) ingest accepts (:mod:`mmkg.ingest.validate`): ids are indexed, and Neo4j
refuses index keys over ~8 KB (4 bytes per character at worst in UTF-8)."""

KG_RELATION_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,127}$")
_RESERVED = {t.value for t in RelType}


def kg_relation_type(name: str) -> str:
    """Map a KG relation name from data to its relationship type (the identity, once validated).

    Raises:
        SchemaError: when ``name`` is not a plausible relation name or clashes with a
            reserved type such as ``LISTENED``.
    """
    if not isinstance(name, str) or not KG_RELATION_PATTERN.match(name):
        raise SchemaError(
            f"invalid relation name {name!r}: expected a letter followed by letters, digits, "
            "'_', '.' or '-' (at most 128 characters)"
        )
    if name in _RESERVED:
        raise SchemaError(f"relation name {name!r} is reserved by mmkg's schema")
    return name


def quote(identifier: str) -> str:
    """Backtick-quote a label or relationship type for Cypher (backticks are doubled)."""
    return "`" + identifier.replace("`", "``") + "`"


def feature_id(track_id: str, name: str) -> str:
    """The ``id`` of the feature node called ``name`` attached to track ``track_id``."""
    return f"{track_id}/{name}"
