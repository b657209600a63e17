"""Neo4j Browser as mmkg's front door: the ``mmkg`` guide and style, served by our own Neo4j.

Neo4j 5 serves the Browser from the newest ``neo4j-browser*.zip`` in its web folder
(``<home>/web``, the internal setting ``internal.dbms.web_dir_path``; :data:`BUNDLE_NAME`) when there is one, else from
the ``neo4j-browser`` jar on the classpath. :func:`install_browser_bundle` writes such a zip: the
jar's content plus three files, so the guide and style come from the same origin as the Browser,
offline::

    browser/guides/mmkg         the guide (HTML slides), what ``:play mmkg`` / ``:guide mmkg`` fetch
    browser/guides/mmkg.html    the same guide, for ``:play http://127.0.0.1:<port>/browser/guides/mmkg.html``
    browser/guides/mmkg.grass   cypher/browser/style.grass, for ``:style <that url>``

The Browser looks a guide name it does not ship up as ``<entry>/<name>`` for every entry of the
server's ``browser.remote_content_hostname_whitelist`` (Neo4j 5.26 still spells it so), and fetches only from allowlisted hosts:
:func:`browser_conf_lines` allowlists the guides folder of this server and its host, and makes
``:guide mmkg`` the command the Browser runs after connecting (``browser.post_connect_cmd``): the
guide opens in the sidebar, where the result frames cannot push it out (the stream keeps the
newest 15 frames, and the guide has more runnable blocks than that).

The Browser also runs its own initial command on login, a client setting (Settings, "Initial
command to execute", kept in the browser's local storage) that no server setting changes; its
default, ``:play start``, shows Neo4j's start guide, which leads to the Movies guide and its
writes. The bundle's copy of the Browser gets an empty default instead (:data:`START_GUIDE`);
a user who set that command keeps theirs.

The guide is ``cypher/browser/guide.html`` with every ``{{query NAME}}`` replaced by the body of
``cypher/NAME.cypher`` (no comments, HTML-escaped) and ``{{style_url}}`` by the style's URL, so
each slide runs exactly the query files the tests run.
"""

from __future__ import annotations

import hashlib
import html
import re
import zipfile
from pathlib import Path

from mmkg.errors import ServerError
from mmkg.graph.queries import CYPHER_DIR, load_query

BROWSER_DIR = CYPHER_DIR / "browser"
GUIDE_TEMPLATE = BROWSER_DIR / "guide.html"
STYLE = BROWSER_DIR / "style.grass"
GUIDE_NAME = "mmkg"
"""``:play mmkg`` / ``:guide mmkg``."""
GUIDES_FOLDER = "guides"
"""Where the guide and style live inside the Browser's files (served under /browser/)."""
BUNDLE_GLOB = "neo4j-browser-*.jar"
BUNDLE_NAME = "neo4j-browser.zip"
"""Neo4j accepts ``neo4j-browser.zip`` or ``neo4j-browser-YYYY.MM.DD+N.zip`` and refuses to
start on any other name that matches ``neo4j-browser*.zip``."""
SLOT = re.compile(r"\{\{\s*(query\s+[\w/]+|style_url)\s*\}\}")
START_GUIDE = (b'initCmd:":play start"', b'initCmd:""')
"""The Browser's default initial command in its ``browser/app-*.js``, and its replacement."""


def guides_url(http_port: int) -> str:
    """The URL of the guides folder on the local server."""
    return f"http://127.0.0.1:{http_port}/browser/{GUIDES_FOLDER}"


def style_url(http_port: int) -> str:
    return f"{guides_url(http_port)}/{GUIDE_NAME}.grass"


def render_guide(http_port: int) -> str:
    """The guide's HTML: the template with its query and style-URL slots filled.

    Raises:
        MmkgError: a slot names a query file that does not exist.
    """
    def fill(match: re.Match) -> str:
        slot = match.group(1)
        if slot == "style_url":
            return style_url(http_port)
        return html.escape(load_query(slot.split()[1]), quote=False)

    return SLOT.sub(fill, GUIDE_TEMPLATE.read_text())


def guide_queries(guide: str) -> list[str]:
    """The runnable blocks of a rendered guide (``<pre class="... runnable ...">``), in order,
    as the Browser puts them in its editor (text content, stripped)."""
    blocks = re.findall(r'<pre class="[^"]*\brunnable\b[^"]*">(.*?)</pre>', guide, flags=re.S)
    return [html.unescape(block).strip() for block in blocks]


def install_browser_bundle(lib: Path, web: Path, http_port: int) -> Path:
    """Write ``web/neo4j-browser.zip``: the Browser jar of ``lib`` without its start guide on
    login, plus the mmkg guide and style (see the module docstring). Rewritten only when the
    jar, guide or style changed (their digest, with this module's, is the zip's comment).

    Raises:
        ServerError: the jar's Browser does not spell its default initial command as
            :data:`START_GUIDE` expects (another Browser version).
    """
    jar = max(lib.glob(BUNDLE_GLOB))
    guide, style = render_guide(http_port), STYLE.read_text()
    digest = hashlib.sha256(b"\0".join([str(jar.stat().st_size).encode(), jar.name.encode(),
                                         guide.encode(), style.encode(),
                                         Path(__file__).read_bytes()])).hexdigest().encode()
    bundle = web / BUNDLE_NAME
    if bundle.is_file():
        with zipfile.ZipFile(bundle) as existing:
            if existing.comment == digest:
                return bundle
    web.mkdir(parents=True, exist_ok=True)
    for stale in web.glob("neo4j-browser*.zip"):
        stale.unlink()
    partial = bundle.with_suffix(".partial")
    with zipfile.ZipFile(jar) as source, \
            zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # Neo4j unpacks the zip entry by entry (a folder must come before its files) and serves
        # the first entry, which must be the folder holding index.html: the jar's browser/.
        entries = sorted((e for e in source.infolist() if e.filename.startswith("browser/")),
                         key=lambda e: e.filename != "browser/")
        patched = 0
        for entry in entries:
            data = b"" if entry.is_dir() else source.read(entry)
            if re.fullmatch(r"browser/app-\w+\.js", entry.filename):
                patched += data.count(START_GUIDE[0])
                data = data.replace(*START_GUIDE)
            archive.writestr(entry.filename, data)
        archive.writestr(f"browser/{GUIDES_FOLDER}/", b"")
        for name, text in ((GUIDE_NAME, guide), (f"{GUIDE_NAME}.html", guide), (f"{GUIDE_NAME}.grass", style)):
            archive.writestr(f"browser/{GUIDES_FOLDER}/{name}", text)
        archive.comment = digest
    if patched != 1:
        partial.unlink()
        raise ServerError(f"{jar}: expected its Browser's default initial command "
                          f"{START_GUIDE[0].decode()} once, found it {patched} times")
    partial.replace(bundle)
    return bundle


def browser_conf_lines(lib: Path, home: Path, http_port: int) -> list[str]:
    """Install the Browser bundle into ``home/web`` and return the ``neo4j.conf`` lines that
    point the Browser at its guide: the allowlist (guides folder first, then the host, which
    the Browser checks by name) and ``:guide mmkg`` after connecting."""
    install_browser_bundle(lib, home / "web", http_port)
    return [
        f"browser.remote_content_hostname_whitelist={guides_url(http_port)},127.0.0.1",
        f"browser.post_connect_cmd=guide {GUIDE_NAME}",
    ]
