"""Neo4j Browser as the front door, tested on a small published demo in the test server.

The guide's queries run against the database (every slide returns rows), and a real browser
(headless Chromium driven by Selenium, Debian's ``chromium`` and ``chromium-driver`` installed by
``make system-deps``) logs in, finds the guide played after connecting, applies the style by
paste, and runs the guide's parameter and query blocks, asserting on the rendered frames.
Screenshots go to ``.mmkg/artifacts/browser/`` (git-ignored). Without Chromium the browser test
fails and says how to install it; it is never skipped.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmkg.cli import cli
from mmkg.graph.schema import apply_schema, reset_database
from mmkg.server.browser import GUIDE_NAME, STYLE, guides_url, render_guide
from tests.conftest import ROOT

ARTIFACTS = ROOT / ".mmkg" / "artifacts" / "browser"
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER = "chromedriver"
SLIDES = 6
#: Runs a paste into the Browser's editor the way a user's Ctrl+V does (a ClipboardEvent).
PASTE = """
const [target, text] = arguments;
const data = new DataTransfer();
data.setData('text/plain', text);
target.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
"""


def mmkg(*args: str) -> str:
    out = CliRunner().invoke(cli, list(args))
    assert out.exit_code == 0, f"mmkg {' '.join(args)}:\n{out.output}"
    return out.output


@pytest.fixture(scope="module")
def demo(driver, database, tmp_path_factory):
    """A small `make demo`: sample catalog (40 tracks, 12 users, real media) → ingest → train
    (3 epochs, --refit) → publish, into the test server."""
    reset_database(driver, database)
    apply_schema(driver, database)
    root = tmp_path_factory.mktemp("browser-demo")
    mmkg("sample-catalog", str(root / "catalog"), "--tracks", "40", "--users", "12", "--seed", "7")
    mmkg("ingest", str(root / "catalog"), "--format", "catalog")
    mmkg("train", "--out", str(root / "run"), "--seed", "7", "--epochs", "3", "--dim", "16",
         "--batch-size", "64", "--patience", "3", "--quiet", "--refit")
    mmkg("publish", str(root / "run"))
    return root


# -- the guide's queries, on the database -----------------------------------------------------------
def guide_slides(http_port: int) -> list[list[str]]:
    """The runnable blocks of each slide of the rendered guide, in order."""
    from mmkg.server.browser import guide_queries

    slides = render_guide(http_port).split("<slide")[1:]
    return [guide_queries(slide) for slide in slides]


def params_of(driver, database, block: str) -> dict:
    """A ``:params {map}`` block as the Browser sends it: the map evaluated, every number a
    float (so the queries must cope with ``k = 10.0``)."""
    params = driver.execute_query(f"RETURN {block.removeprefix(':params')} AS p", database_=database)[0][0]["p"]
    return {k: float(v) if isinstance(v, int) else v for k, v in params.items()}


def test_guide_has_six_slides_with_a_query_each(settings):
    slides = guide_slides(settings.neo4j.http_port)
    assert len(slides) == SLIDES
    for blocks in slides:
        assert any(not b.startswith(":") for b in blocks), blocks


def test_every_guide_query_returns_rows_on_the_demo(demo, driver, database, settings):
    for number, blocks in enumerate(guide_slides(settings.neo4j.http_port), start=1):
        params: dict = {}
        for block in blocks:
            if block.startswith(":param"):
                params.update(params_of(driver, database, block))
            elif not block.startswith(":"):
                records = driver.execute_query(block, params, database_=database)[0]
                assert records, f"slide {number} returned no rows:\n{block}\nwith {params}"


def test_guide_queries_raise_no_warnings(demo, driver, database, settings):
    """No CartesianProduct (or any other) notification for any query of the guide."""
    for blocks in guide_slides(settings.neo4j.http_port):
        params: dict = {}
        for block in blocks:
            if block.startswith(":param"):
                params.update(params_of(driver, database, block))
            elif not block.startswith(":") and not block.startswith("CALL db.schema"):
                summary = driver.execute_query("EXPLAIN " + block, params, database_=database)[1]
                titles = [s.status_description for s in summary.gql_status_objects
                          if s.is_notification]
                assert not titles, f"{block}\n{titles}"


def test_no_published_recommendation_was_heard(demo, driver, database):
    records = driver.execute_query(
        "MATCH (u:User)-[r:RECOMMENDED]->(t:Track) WHERE EXISTS { (u)-[:LISTENED]->(t) } "
        "RETURN count(r) AS n", database_=database)[0]
    assert records[0]["n"] == 0


def parse_grass(text: str) -> dict[str, dict[str, str]]:
    """Neo4j Browser 5.24's grass parser (``parseGrass``, its non-JSON branch), ported: no
    comments; a selector is every non-blank character before ``{``; quotes are dropped and protect
    braces; a declaration is kept only when it splits on ``:`` into exactly two parts."""
    rules: dict[str, str] = {}
    in_quote = in_rule = nested = False
    selector = body = ""
    for char in text:
        kept = False
        if char == "{" and not in_quote:
            nested, in_rule = (True, in_rule) if in_rule else (nested, True)
        elif char == "}" and not in_quote:
            if nested:
                nested = False
            else:
                in_rule, rules[selector], selector, body = False, body, "", ""
        elif char in "'\"":
            in_quote = not in_quote
        else:
            kept = True
        if kept or (char in "{}" and in_quote):
            if in_rule:
                body += char
            elif not char.isspace():
                selector += char
    return {sel: dict(tuple(part.strip() for part in decl.split(":")) for decl in body.split(";")
                      if decl.count(":") == 1) for sel, body in rules.items()}


def test_style_loads_by_paste_and_by_drop_with_a_caption_for_every_label():
    from mmkg.schema import Label, Modality

    text = STYLE.read_text()
    pasted = (":style " + text).split(":style")[1]  # what the Browser keeps of a paste
    dropped = parse_grass(text)
    assert parse_grass(pasted) == dropped
    assert "node" in dropped and "relationship" in dropped  # no header glued to the first selector
    for label in [*Label, *Modality]:
        rule = dropped[f"node.{label.value}"]
        assert rule["caption"] and rule["color"], label
    assert dropped["node.Entity"]["caption"] == "{id}" and dropped["node.User"]["caption"] == "{name}"
    assert dropped["relationship.LISTENED"]["caption"] == "{plays} plays"
    assert dropped["relationship.RECOMMENDED"]["caption"] == "#{rank}"
    assert any(sel.startswith("relationship.music\\.") for sel in dropped)  # KG relations


# -- a real browser ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chrome():
    """Headless Chromium under Selenium; fails (never skips) when Chromium is not installed."""
    binary = next((shutil.which(name) for name in CHROMIUM if shutil.which(name)), None)
    driver_binary = shutil.which(CHROMEDRIVER)
    if binary is None or driver_binary is None:
        pytest.fail("the browser test needs Chromium and its driver (Debian: apt-get install "
                    "chromium chromium-driver; `make system-deps` does it as root); found "
                    f"chromium={binary}, chromedriver={driver_binary}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1600,1000"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver_binary), options=options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield browser
    browser.quit()


class BrowserPage:
    """The Neo4j Browser page: connect, paste into the editor, run, find frames."""

    def __init__(self, chrome, settings) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.chrome, self.settings = chrome, settings
        self.wait = WebDriverWait(chrome, 60)

    def by(self, css: str):
        from selenium.webdriver.common.by import By

        return self.chrome.find_elements(By.CSS_SELECTOR, css)

    def connect(self) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        neo4j = self.settings.neo4j
        self.chrome.get(f"{neo4j.browser_url}?dbms=bolt://127.0.0.1:{neo4j.bolt_port}")
        user = self.wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[data-testid=username]")))
        user.clear()
        user.send_keys(neo4j.user)
        self.by("[data-testid=password]")[0].send_keys(self.settings.password())
        self.by("[data-testid=connect]")[0].click()

    def frames(self) -> list:
        return self.by("[data-testid=frame]")

    def frame_with(self, text: str):
        """The newest frame whose content contains ``text`` (waits for it)."""
        def found(_):
            return next((f for f in self.frames() if text in f.get_attribute("textContent")), None)
        return self.wait.until(found)

    def paste(self, text: str) -> None:
        editor = self.by("[data-testid=activeEditor] textarea")[0]
        editor.click()
        self.chrome.execute_script(PASTE, editor, text)

    def run(self):
        """Run the editor's content; return the new frame once its result has rendered."""
        before = len(self.frames())
        self.by("[data-testid=editor-Run]")[0].click()
        self.wait.until(lambda _: len(self.frames()) > before)
        frame = self.frames()[0]
        self.wait.until(lambda _: "frame-loaded-contents" in frame.get_attribute("innerHTML")
                        or frame.find_elements("css selector", "[data-testid=frameContents]"))
        time.sleep(1.5)  # let the graph layout settle before screenshots and measurements
        return frame

    def run_block(self, guide, text: str):
        """Click the guide's runnable block that starts with ``text`` (it fills the editor), run it."""
        shown = self.chrome.execute_script(  # the current slide's blocks (others are display: none)
            "return [...arguments[0].querySelectorAll('pre.runnable')].filter(b => b.offsetParent)", guide)
        block = next(b for b in shown if b.get_attribute("textContent").strip().startswith(text))
        self.chrome.execute_script("arguments[0].scrollIntoView({block: 'center'})", block)
        block.click()
        return self.run()

    def shot(self, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        self.chrome.save_screenshot(str(path))
        return path

    def errors(self) -> list[str]:
        return [e.get_attribute("textContent") for e in
                self.by("[data-testid=cypherFrameErrorMessage], [data-testid=errorBanner]")]


def rendered_nodes(frame) -> dict[str, str]:
    """The graph frame's drawn nodes: aria-label → caption text (its lines joined by spaces)."""
    nodes = {}
    for node in frame.find_elements("css selector", "g.node"):
        lines = [t.get_attribute("textContent").strip() for t in node.find_elements("css selector", "text.caption")]
        nodes[node.get_attribute("aria-label")] = " ".join(line for line in lines if line)
    return nodes


def test_browser_plays_the_guide_styles_and_draws(demo, chrome, settings, driver, database):
    page = BrowserPage(chrome, settings)
    page.connect()

    # 1. after connecting, the server's post-connect command plays the mmkg guide
    guide = page.frame_with("What is in the graph")
    assert f":play {GUIDE_NAME}" in guide.get_attribute("textContent")
    assert f"1 / {SLIDES}" in guide.get_attribute("textContent")
    page.shot("01-guide-played-on-connect")

    # 2. the style, pasted after :style, parses (no InvalidGrassError) and is applied
    page.paste(":style\n" + STYLE.read_text())
    style_frame = page.run()
    assert "InvalidGrassError" not in style_frame.get_attribute("textContent")
    assert "node.Entity" in style_frame.get_attribute("textContent")
    page.shot("02-style-pasted")

    # 3. slide 4: recommend.cypher with its parameters, as a table
    for _ in range(3):
        guide.find_element("css selector", "[data-testid=nextSlide]").click()
    assert "Why a track was recommended" in guide.text
    page.run_block(guide, ":params {userId: 'u1', k: 10, genre: null}")
    table = page.run_block(guide, "MATCH (m:Model {current: true})\nWITH m.id AS model")
    expected = driver.execute_query(
        "MATCH (:User {id: 'u1'})-[r:RECOMMENDED]->(t:Track) WHERE r.rank <= 10 "
        "RETURN t.title AS title ORDER BY r.rank", database_=database)[0]
    text = table.get_attribute("textContent")
    assert f"Started streaming {len(expected)} records" in text, text[-400:]
    assert all(r["title"] in text for r in expected)
    page.shot("03-recommend-table")

    # 4. the same slide's graph: the user, the top 3 and the KG nodes they share with history
    page.run_block(guide, ":params {userId: 'u1', k: 3}")
    graph = page.run_block(guide, "MATCH (u:User {id: $userId})-[r:RECOMMENDED]")
    drawn = rendered_nodes(graph)
    nodes = driver.execute_query(
        "MATCH (u:User {id: 'u1'})-[r:RECOMMENDED]->(t:Track) "
        "WHERE r.rank <= 3 AND r.model = COLLECT { MATCH (m:Model {current: true}) RETURN m.id }[0] "
        "OPTIONAL MATCH (t)-[:PERFORMED_BY|HAS_GENRE|TAGGED|ON_ALBUM]->(s)"
        "<-[:PERFORMED_BY|HAS_GENRE|TAGGED|ON_ALBUM]-(h:Track)<-[:LISTENED]-(u) "
        "WITH u, t, collect(DISTINCT [s, h]) AS why "
        "RETURN u.name AS user, collect(t.title) AS top, sum(size(why)) AS paths", database_=database)[0][0]
    assert nodes["user"] in drawn.values()  # User caption: its name (was its id)
    for title in nodes["top"]:
        assert title in drawn.values()  # Track caption: its title
    assert len(drawn) >= 1 + len(nodes["top"])
    page.shot("04-recommended-graph")

    # 5. the same slide's explanation table: reasons and paths as text, no vectors
    page.run_block(guide, ":params {userId: 'u1', trackId: null, limit: 5}")
    explained = page.run_block(guide, "MATCH (u:User {id: $userId})\nWITH u, coalesce($trackId")
    text = explained.get_attribute("textContent")
    assert "track(s) you listened to" in text and not re.search(r"\[-?0\.\d+, -?0\.\d+", text)
    assert re.search(r"'[^']+' (-[A-Z_.a-z]+->|<-[A-Z_.a-z]+-) '", text), text[-600:]
    page.shot("05-explain-table")

    # 6. slide 2: a track's neighbourhood: features read modality + name, entities their id
    for _ in range(2):
        guide.find_element("css selector", "[data-testid=previousSlide]").click()
    assert "A track's multi-modal neighbourhood" in guide.text
    page.run_block(guide, ":params {trackId: 't1'}")
    graph = page.run_block(guide, "MATCH (t:Track {id: $trackId})\nRETURN t.title AS track")
    captions = set(rendered_nodes(graph).values())
    expected = driver.execute_query(
        "MATCH (t:Track {id: 't1'}) RETURN "
        "COLLECT { MATCH (t)-[:HAS_FEATURE]->(f) RETURN f.name } AS features, "
        "COLLECT { MATCH (t)-[:PERFORMED_BY|ON_ALBUM|HAS_GENRE]->()-[]->(e:Entity) RETURN DISTINCT e.id } AS entities, "
        "COLLECT { MATCH (t)-[r]->() WHERE NOT type(r) IN ['LISTENED', 'RECOMMENDED'] RETURN r } AS near",
        database_=database)[0][0]
    for feature in expected["features"]:
        assert any(c.endswith(feature) and c != feature for c in captions), (feature, captions)
    for entity in expected["entities"]:  # a long id is cut to the circle, with an ellipsis
        assert any(c == entity or (c.endswith("\u2026") and entity.startswith(c[:-1]) and len(c) > 8)
                   for c in captions), (entity, captions)
    assert len(rendered_nodes(graph)) == 1 + len(expected["near"]) + len(expected["entities"])
    page.shot("06-track-neighbourhood")

    # 7. the guide in the sidebar: :guide mmkg
    page.paste(f":guide {GUIDE_NAME}")
    page.by("[data-testid=editor-Run]")[0].click()
    drawer = page.wait.until(lambda _: next((d for d in page.by("[data-testid=guidesDrawer]")
                                             if "What is in the graph" in d.get_attribute("textContent")), None))
    assert drawer.is_displayed()
    page.shot("07-guide-in-sidebar")

    assert not page.errors(), page.errors()
    assert guides_url(settings.neo4j.http_port).startswith(f"http://127.0.0.1:{settings.neo4j.http_port}/")
