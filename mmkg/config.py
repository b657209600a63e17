"""Typed settings, read once: defaults < ``mmkg.toml`` (or ``$MMKG_CONFIG``) < ``MMKG_*`` env vars.

===============================  ================================  ================================
env var                          default                           meaning
===============================  ================================  ================================
``MMKG_HOME``                    :func:`default_home`               project-local state: Neo4j data, logs
``MMKG_CACHE``                   ``~/.cache/mmkg``                 downloaded Neo4j jars (shared by clones)
``MMKG_NEO4J_URI``               ``bolt://127.0.0.1:<bolt port>``  where the driver connects
``MMKG_NEO4J_USER``              ``neo4j``
``MMKG_NEO4J_PASSWORD``          generated into ``$MMKG_HOME/neo4j-password`` on first use
``MMKG_NEO4J_DATABASE``          ``neo4j``
``MMKG_NEO4J_BOLT_PORT``         ``7687``                          local server's Bolt port
``MMKG_NEO4J_HTTP_PORT``         ``7474``                          local server's HTTP port (Browser)
``MMKG_NEO4J_HEAP``              ``2g``                            local server's max heap
``MMKG_NEO4J_PAGECACHE``         ``2g``                            local server's page cache
``MMKG_NEO4J_SERVER``            ``auto``                          ``java`` | ``docker`` | ``auto``
``MMKG_NEO4J_RETRY_SECONDS``      ``30``                            longest a write keeps retrying an
                                                                   unreachable or busy Neo4j, in total
``MMKG_BATCH_INGEST``            ``10000``                         node/relationship rows per ingest write
``MMKG_BATCH_FEATURE_ROWS``      ``2000``                          most feature vectors per write
``MMKG_BATCH_FEATURES``          ``64``                            tracks per feature-extraction batch
``MMKG_BATCH_EXPORT``            ``1000``                          ids per export read query
``MMKG_BATCH_PUBLISH``           ``1000``                          users or vectors per publish write
``MMKG_BATCH_DELETE``            ``10000``                         nodes deleted per ``mmkg db reset`` step
``MMKG_MEDIA_ROOT``              unset                             another folder media may live in
``MMKG_MEDIA_MAX_LYRICS_BYTES``  ``1048576`` (1 MiB)               largest lyrics file read
``MMKG_MEDIA_MAX_COVER_BYTES``   ``20971520`` (20 MiB)             largest cover file read
``MMKG_MEDIA_MAX_COVER_PIXELS``  ``40000000``                      most pixels a cover may claim
``MMKG_MEDIA_MAX_AUDIO_BYTES``   ``104857600`` (100 MiB)           largest audio file read
``MMKG_MEDIA_WORKERS``           ``0`` (one per CPU)               feature-extraction worker processes
===============================  ================================  ================================

``MMKG_NEO4J_URI`` (or ``--uri``) takes any scheme of the official driver: ``bolt://`` /
``bolt+s://`` for one server, ``neo4j://`` / ``neo4j+s://`` (routing: a Neo4j Enterprise cluster,
or Aura, always ``neo4j+s://``). With a routing URI, reads go to followers or read replicas and
writes to the leader (:func:`mmkg.graph.open_session`); ``docs/scale.md`` has the recipe.

The TOML file uses the same names without the prefix, lower-cased, under ``[neo4j]`` for the
``NEO4J_*`` ones, ``[batch]`` for the ``BATCH_*`` ones and ``[media]`` for the ``MEDIA_*`` ones
(``[neo4j] password = ...`` is allowed but env or the generated file is better). An unknown key in
the file, or an unknown ``MMKG_NEO4J_*``/``MMKG_BATCH_*``/``MMKG_MEDIA_*`` variable, is an error (a
typo would otherwise be ignored); other unknown ``MMKG_*`` variables are ignored. The layering is
pydantic-settings' (:func:`load_settings`).
The password is a :class:`pydantic.SecretStr`: it never appears in ``repr``, logs or CLI output.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, InitSettingsSource, SettingsConfigDict

from mmkg.errors import ConfigError

ENV_PREFIX = "MMKG_"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The checkout mmkg runs from (``cypher/`` and ``docker-compose.yml`` live there too)."""
NEO4J_VERSION = "5.26.30"
"""The Neo4j server version mmkg runs locally and in ``docker-compose.yml``."""
MEMORY_SIZE = r"^[1-9][0-9]{0,12}[kKmMgGtT]?$"
"""A memory size as ``neo4j.conf`` takes it (nothing else reaches that file: no newline)."""
URI_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
"""The schemes of the Bolt protocol the driver speaks (``+s``: TLS, ``+ssc``: TLS, any certificate)."""

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_bolt_uri(uri: str) -> str:
    """``uri`` if it is ``<scheme>://HOST[:PORT]`` with a :data:`URI_SCHEMES` scheme and a port in
    1..65535 (credentials, a path or a fragment are refused; a query, the routing context, only
    with ``neo4j*`` schemes).

    Raises:
        ValueError: naming what was expected (pydantic words it as a settings error).
    """
    expected = f"expected {'|'.join(URI_SCHEMES)}://HOST[:PORT]"
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as e:  # e.g. bolt://host:notaport
        raise ValueError(f"{expected}: {e}") from None
    if parts.scheme not in URI_SCHEMES:
        raise ValueError(f"{expected}; scheme {parts.scheme or '(none)'!r} is not one of them")
    if not parts.hostname or parts.username or parts.password or parts.path not in ("", "/") \
            or parts.fragment or (parts.query and not parts.scheme.startswith("neo4j")):
        raise ValueError(expected)
    if port == 0:
        raise ValueError(f"{expected}: port must be in 1..65535")
    return uri


class Neo4jSettings(BaseModel):
    """How to reach Neo4j, and how to run the local server."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uri: str | None = None
    user: str = "neo4j"
    password: SecretStr | None = None
    database: str = "neo4j"
    """A database name: not empty, no whitespace (Neo4j's own rules are checked by the server)."""
    bolt_port: int = Field(7687, ge=1, le=65535)
    http_port: int = Field(7474, ge=1, le=65535)
    heap: str = Field("2g", pattern=MEMORY_SIZE)
    """The local server's JVM heap (``dbms.memory.heap.*_size``): a whole number of bytes with an
    optional unit, ``512m``, ``2g``."""
    pagecache: str = Field("2g", pattern=MEMORY_SIZE)
    """The local server's page cache (``server.memory.pagecache.size``), likewise."""
    server: Literal["auto", "java", "docker"] = "auto"
    """How ``mmkg db start`` runs Neo4j: Maven Central jars, Docker Compose, or Docker when an
    engine answers."""
    retry_seconds: float = Field(30.0, gt=0, le=3600)
    """Longest one transaction keeps being retried while Neo4j is unreachable or answers with a
    transient error, waits included (``mmkg.graph.run_batches`` says so on stderr per retry)."""

    @field_validator("uri")
    @classmethod
    def _bolt_uri(cls, uri: str | None) -> str | None:
        return None if uri is None else check_bolt_uri(uri)

    @field_validator("database")
    @classmethod
    def _database_name(cls, name: str) -> str:
        if not name or any(c.isspace() for c in name):
            raise ValueError("expected a database name (not empty, no spaces)")
        return name

    @field_validator("bolt_port", "http_port", mode="before")
    @classmethod
    def _not_a_boolean(cls, port: object) -> object:
        """``bolt_port = true`` in TOML: pydantic would take it as port 1."""
        if isinstance(port, bool):
            raise ValueError("expected a port number, found a boolean")
        return port

    @property
    def bolt_uri(self) -> str:
        """The URI the driver uses (any Bolt scheme; the local server's direct one by default)."""
        return self.uri or f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def is_local_server(self) -> bool:
        """Whether :attr:`bolt_uri` is the server ``mmkg db start`` runs: a loopback host at
        :attr:`bolt_port`."""
        parts = urlsplit(self.bolt_uri)
        return parts.hostname in _LOOPBACK and (parts.port or 7687) == self.bolt_port

    @property
    def browser_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/browser/"


class BatchSettings(BaseModel):
    """Rows per transaction of each step: trade-offs of memory and speed, never of results.

    Library functions take these defaults (:data:`BATCH`); the CLI passes the configured values.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ingest: int = Field(10_000, ge=1)
    """Node or relationship rows per ingest write transaction."""
    feature_rows: int = Field(2_000, ge=1)
    """Most feature rows per write transaction: vectors make rows heavy (384 floats ≈ 3 kB)."""
    features: int = Field(64, ge=1)
    """Tracks per feature-extraction batch; each batch is written as soon as it is computed."""
    export: int = Field(1_000, ge=1)
    """Node ids one export read query takes (its rows come back as one record)."""
    publish: int = Field(1_000, ge=1)
    """Users (``RECOMMENDED``) or nodes (vectors) per publish write transaction."""
    delete: int = Field(10_000, ge=1)
    """Nodes deleted per transaction when a database is emptied."""


BATCH = BatchSettings()
"""The default batch sizes."""

MIB = 1 << 20


class MediaSettings(BaseModel):
    """Where catalog media may live and how much of a file mmkg reads: the guards that keep a
    hostile or broken catalog from reading host files or exhausting memory.

    A media path from a catalog must resolve (symlinks followed) inside the catalog folder or
    inside ``root``; a file larger than its kind's ``max_<kind>_bytes``, or a cover claiming more
    than ``max_cover_pixels`` pixels, is rejected with a one-line error naming it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    root: Path | None = None
    """A folder media may live in besides the catalog folder (``None``: the catalog folder only)."""
    max_lyrics_bytes: int = Field(1 * MIB, ge=1)
    """Largest lyrics file (300 words are about 2 kB)."""
    max_cover_bytes: int = Field(20 * MIB, ge=1)
    """Largest cover image file."""
    max_cover_pixels: int = Field(40_000_000, ge=1)
    """Most pixels (width × height) a cover may claim; Pillow's own bomb limit is 89 M."""
    max_audio_bytes: int = Field(100 * MIB, ge=1)
    """Largest audio file (a 30-second MP3 clip is about 0.5 MB, a 10-minute WAV 100 MB)."""
    workers: int = Field(0, ge=0)
    """Feature-extraction worker processes (0: one per CPU this process may use)."""
    features: tuple[str, ...] | None = None
    """The registered features mmkg computes, by name (``None``: those on by default:
    ``lyrics_minilm``, ``lyrics_vader``, ``cover_color``, ``audio_librosa``). ``lyrics_static``
    (MiniLM's word pieces as fixed vectors, ~70× cheaper than ``lyrics_minilm``) is off by
    default; ``MMKG_MEDIA_FEATURES=lyrics_static,lyrics_vader,cover_color,audio_librosa`` (or
    the JSON list ``'["lyrics_static", …]'``) picks it instead. A registered feature left out is
    removed from the tracks by ``mmkg features``, so the export never mixes two recipes."""

    @field_validator("features", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        """``"a, b"`` → ``("a", "b")``: the names as one comma-separated string (how an
        environment variable is written) as well as a list; a blank string is the default (an
        empty ``MMKG_MEDIA_FEATURES=`` must not mean "compute nothing, remove every feature")."""
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip()) or None
        return value

    def check_root(self) -> None:
        """Refuse a ``root`` that is not a folder, before any media is read (each of its files
        would otherwise fail on its own).

        Raises:
            ConfigError: one line naming it.
        """
        if self.root is not None and not self.root.is_dir():
            raise ConfigError(f"media.root (MMKG_MEDIA_ROOT) {self.root} is not a folder: "
                              "expected the folder media may live in besides the catalog's")

    def max_bytes(self, kind: str) -> int:
        """The size cap of media kind ``kind`` (``max_<kind>_bytes``).

        Raises:
            ValueError: no cap is defined for ``kind``.
        """
        field = f"max_{kind}_bytes"
        if field not in type(self).model_fields:
            raise ValueError(f"no size cap for media kind {kind!r}: add media.{field}")
        return getattr(self, field)


MEDIA = MediaSettings()
"""The default media settings (library functions default to them; the CLI passes the loaded ones)."""


def default_home() -> Path:
    """Where mmkg keeps its state when ``MMKG_HOME`` is unset: the checkout's ``.mmkg`` when mmkg
    runs from a source checkout (an editable install), else ``.mmkg`` in the current folder (a
    wheel install: never inside site-packages)."""
    checkout = PROJECT_ROOT / "pyproject.toml"
    return PROJECT_ROOT / ".mmkg" if checkout.is_file() else Path.cwd() / ".mmkg"


class Settings(BaseSettings):
    """All settings of one mmkg invocation, layered by :func:`load_settings`."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", env_prefix=ENV_PREFIX,
                                      env_nested_delimiter="_", env_nested_max_split=1)

    home: Path = Field(default_factory=default_home)
    cache: Path = Path.home() / ".cache" / "mmkg"
    neo4j: Neo4jSettings = Neo4jSettings()
    batch: BatchSettings = BATCH
    media: MediaSettings = MEDIA

    @field_validator("home", "cache", mode="before")
    @classmethod
    def _not_empty(cls, folder: object) -> object:
        """``MMKG_HOME=`` (set, but empty) would mean the current folder: refused, not guessed."""
        if isinstance(folder, str) and not folder.strip():
            raise ValueError("expected a folder, found an empty value (unset it for the default)")
        return folder

    @property
    def password_file(self) -> Path:
        return self.home / "neo4j-password"

    def password(self) -> str:
        """The Neo4j password: configured, else read from (or generated into) :attr:`password_file`."""
        if self.neo4j.password is not None:
            return self.neo4j.password.get_secret_value()
        return _generated_password(self.password_file)


def _generated_password(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def load_settings(config_file: Path | None = None, **overrides: str | None) -> Settings:
    """:class:`Settings` from, each over the one before: the defaults, the TOML file
    (``config_file``, else ``$MMKG_CONFIG``, else ``./mmkg.toml`` when present), the ``MMKG_*``
    environment variables, then ``overrides``, the ``[neo4j]`` settings given on the command line
    (``uri``, ``database``; ``None``: not given).

    Raises:
        ConfigError: an unreadable file, an unknown key or an invalid value (one line, no secret).
    """
    path = config_file or (Path(os.environ["MMKG_CONFIG"]) if "MMKG_CONFIG" in os.environ else None)
    if path is None and Path("mmkg.toml").exists():
        path = Path("mmkg.toml")
    try:
        data = tomllib.loads(Path(path).read_text()) if path is not None else {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read settings: {e}") from e

    class Layered(Settings):
        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, **_):
            return init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=data)

    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        settings = Settings.model_construct(**dict(Layered(**({"neo4j": given} if given else {}))))
    except ValidationError as e:
        raise ConfigError.invalid(f"settings{f' in {path}' if path else ''}", e) from None
    # Relative paths are relative to where the command started, even if it later changes directory.
    return settings.model_copy(update={"home": settings.home.expanduser().resolve(),
                                       "cache": settings.cache.expanduser().resolve()})
