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
from mmkg.graph import load_query
from mmkg.graph.schema import apply_schema, reset_database
from mmkg.schema import Label, Modality
from mmkg.server.browser import STYLE, guides_url, render_guide
from tests.conftest import ROOT

ARTIFACTS = ROOT / ".mmkg" / "artifacts" / "browser"
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER = "chromedriver"
SLIDES = 6
GUIDE_TITLES = ("What is in the graph", "A track's multi-modal neighbourhood", "A user's taste",
                "Why a track was recommended", "Similar tracks", "Cold start")
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
    mmkg("train", "--out", str(root / "run"), "--seed", "7", "--set", "epochs=3", "--set", "model.dim=16",
         "--set", "batch_size=64", "--set", "patience=3", "--quiet", "--refit")
    mmkg("publish", str(root / "run"))
    return root


# -- the guide's queries, on the database -----------------------------------------------------------
def guide_slides(http_port: int) -> list[list[str]]:
    """The runnable blocks of each slide of the rendered guide, in order."""
    from mmkg.server.browser import guide_queries

    slides = render_guide(http_port).split("<slide")[1:]
    return [guide_queries(slide) for slide in slides]


PARAM = re.compile(r"^:param (\w+) => (.+?);?$")


def params_of(driver, database, block: str) -> dict:
    """A block of ``:param name => value`` lines as the Browser runs it: each value evaluated
    by the server (``RETURN value``), each name added to the parameters already set. Any other
    form (``:params {map}`` replaces every parameter set before) is refused."""
    params = {}
    for line in block.splitlines():
        match = PARAM.match(line.strip())
        assert match, f"not a ':param name => value' line: {line!r}"
        name, value = match.groups()
        params[name] = driver.execute_query(f"RETURN {value} AS v", database_=database)[0][0]["v"]
    return params


def guide_params(driver, database, http_port: int) -> list[dict]:
    """Each slide's parameters: its own ``:param`` blocks, in order."""
    slides = []
    for blocks in guide_slides(http_port):
        params: dict = {}
        for block in blocks:
            if block.startswith(":param"):
                params.update(params_of(driver, database, block))
        slides.append(params)
    return slides


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


def test_a_guide_parameter_means_the_same_on_every_slide(demo, driver, database, settings):
    """Parameters add up as the guide is walked (``:param`` merges), so a slide's query run after
    every later slide set its parameters must see its own values: no name takes two values."""
    every: dict = {}
    for number, params in enumerate(guide_params(driver, database, settings.neo4j.http_port), start=1):
        clashes = {name: (every[name], value) for name, value in params.items()
                   if name in every and every[name] != value}
        assert not clashes, f"slide {number} resets {clashes}"
        every.update(params)


@pytest.fixture(scope="module")
def noisy_driver(settings, server):
    """A driver that receives every notification, down to INFORMATION, as the Browser does
    (mmkg's own driver is opened with notifications off)."""
    from neo4j import GraphDatabase

    drv = GraphDatabase.driver(settings.neo4j.bolt_uri, auth=(settings.neo4j.user, settings.password()),
                               notifications_min_severity="INFORMATION")
    yield drv
    drv.close()


#: Reader queries the CLI runs that read the current model's vectors (``n[m.vector_property]``)
#: beside the guide's, with parameters.
VECTOR_READERS = {"current_vectors": {"ids": ["t1", "u1"]},
                  "recommend_track_state": {"trackIds": ["t1", "t2"]},
                  "recommend_user_state": {"userId": "u1"},
                  "recommend_vectors": {"userId": "u1", "k": 5, "genre": None, "newOnly": False}}


def notifications(driver, database, query: str, params: dict) -> list[str]:
    summary = driver.execute_query("EXPLAIN " + query, params, database_=database)[1]
    return [f"{s.gql_status}: {s.status_description}" for s in summary.gql_status_objects
            if s.is_notification]


def test_guide_queries_raise_no_notifications(demo, noisy_driver, database, settings):
    """No notification of any severity (a Warn tab in the Browser: CartesianProduct,
    DynamicProperty...) for any query of the guide, nor for the CLI's other vector readers."""
    assert notifications(noisy_driver, database, "MATCH (a:Track), (b:Track) RETURN a, b", {})  # it listens
    for blocks, params in zip(guide_slides(settings.neo4j.http_port),
                              guide_params(noisy_driver, database, settings.neo4j.http_port)):
        for block in blocks:
            if not block.startswith(":"):
                assert not notifications(noisy_driver, database, block, params), block
    for name, params in VECTOR_READERS.items():
        assert not notifications(noisy_driver, database, load_query(name), params), name


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
    text = STYLE.read_text()
    pasted = (":style " + text).split(":style")[1]  # what the Browser keeps of a paste
    dropped = parse_grass(text)
    assert parse_grass(pasted) == dropped
    assert "node" in dropped and "relationship" in dropped  # no header glued to the first selector
    for label in [*Label, *Modality]:
        rule = dropped[f"node.{label.value}"]
        assert rule["caption"] and rule["color"], label
    assert dropped["node.Entity"]["caption"] == "{id}{name}" and dropped["node.User"]["caption"] == "{name}"
    assert dropped["relationship.LISTENED"]["caption"] == "plays {plays}"
    assert dropped["relationship.RECOMMENDED"]["caption"] == "recommended {rank}"
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
        """Run the editor's content; return the new frame once its result has rendered. (The
        stream keeps the newest 15 frames: from then on a run adds one and retires the oldest.)"""
        newest = self.frames()[0] if self.frames() else None
        self.by("[data-testid=editor-Run]")[0].click()
        self.wait.until(lambda _: self.frames() and self.frames()[0] != newest)
        frame = self.frames()[0]
        self.wait.until(lambda _: "frame-loaded-contents" in frame.get_attribute("innerHTML")
                        or frame.find_elements("css selector", "[data-testid=frameContents]"))
        time.sleep(1.5)  # let the graph layout settle before screenshots and measurements
        return frame

    def guide(self):
        """The mmkg guide in the sidebar (waits for it)."""
        return self.wait.until(lambda _: next(
            (d for d in self.by("[data-testid=guidesDrawer]") if GUIDE_TITLES[0] in d.get_attribute("textContent")), None))

    def shown_blocks(self, guide) -> list:
        """The current slide's runnable blocks (the other slides' are display: none)."""
        return self.chrome.execute_script(
            "return [...arguments[0].querySelectorAll('pre.runnable')].filter(b => b.offsetParent)", guide)

    def run_block(self, guide, text: str):
        """Click the guide's runnable block that starts with ``text`` (it fills the editor), run it."""
        block = next(b for b in self.shown_blocks(guide) if b.get_attribute("textContent").strip().startswith(text))
        return self.click_and_run(block)

    def click_and_run(self, block):
        self.chrome.execute_script("arguments[0].scrollIntoView({block: 'center'})", block)
        block.click()
        return self.run()

    def go_to_slide(self, guide, number: int) -> None:
        """Show slide ``number`` (1-based) of the sidebar guide with its page links."""
        guide.find_element("css selector", f"[data-testid=pagination-{number}]").click()
        self.wait.until(lambda _: GUIDE_TITLES[number - 1] in guide.text)

    def shot(self, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        self.chrome.save_screenshot(str(path))
        return path

    def errors(self) -> list[str]:
        return [e.get_attribute("textContent") for e in
                self.by("[data-testid=cypherFrameErrorMessage], [data-testid=errorBanner]")]


def rendered_relationships(frame) -> list[tuple[str, str]]:
    """The graph frame's drawn relationships: (caption, colour) each."""
    return [(rel.find_element("css selector", "text").get_attribute("textContent").strip(),
             rel.find_element("css selector", "path.b-outline").get_attribute("fill"))
            for rel in frame.find_elements("css selector", "g.relationship")]


def warnings(frame) -> bool:
    """Whether the frame has a Warn tab (the Browser's view of a query's notifications)."""
    return bool(frame.find_elements("css selector", ".sl-alert"))


def rendered_nodes(frame) -> dict[str, str]:
    """The graph frame's drawn nodes: aria-label → caption text (its lines joined by spaces)."""
    nodes = {}
    for node in frame.find_elements("css selector", "g.node"):
        lines = [t.get_attribute("textContent").strip() for t in node.find_elements("css selector", "text.caption")]
        nodes[node.get_attribute("aria-label")] = " ".join(line for line in lines if line)
    return nodes


def check_schema(frame, driver, database) -> None:
    """Slide 1's schema graph: each node captioned with its label's name (no blank caption, no
    internal id such as -106), neither PublishLock nor the modality labels; relationship
    captions whole ("{plays} plays" read " plays" there)."""
    captions = list(rendered_nodes(frame).values())
    assert all(caption and not re.fullmatch(r"-?\d+", caption) for caption in captions), captions
    assert not {Label.PUBLISH_LOCK, *Modality} & set(captions), captions
    assert {label.value for label in Label if label != Label.PUBLISH_LOCK} <= set(captions), captions
    for caption, _ in rendered_relationships(frame):
        assert caption and caption == caption.strip() and caption != "#", caption


def check_recommended(frame, driver, database) -> None:
    """Slide 4's why graph: the user and the top 3 captioned; recommended tracks reached by
    thick green "recommended N" edges, heard ones by yellow "plays N" edges."""
    drawn = rendered_nodes(frame)
    nodes = driver.execute_query(
        "MATCH (u:User {id: 'u1'})-[r:RECOMMENDED]->(t:Track) "
        "WHERE r.rank <= 3 AND r.model = COLLECT { MATCH (m:Model {current: true}) RETURN m.id }[0] "
        "RETURN u.name AS user, collect(t.title) AS top", database_=database)[0][0]
    assert nodes["user"] in drawn.values()  # User caption: its name (was its id)
    for title in nodes["top"]:
        assert title in drawn.values()  # Track caption: its title
    colours: dict[str, set[str]] = {}
    for caption, colour in rendered_relationships(frame):
        colours.setdefault(caption.split()[0], set()).add(colour)
    recommended = [c for c, _ in rendered_relationships(frame) if c.startswith("recommended")]
    assert sorted(recommended) == [f"recommended {rank}" for rank in (1, 2, 3)], recommended
    assert colours["plays"] and not colours["plays"] & colours["recommended"], colours


def check_track(frame, driver, database) -> int:
    """Slide 2's neighbourhood: features read modality + name, entities their id; returns the
    number of nodes drawn."""
    captions = set(rendered_nodes(frame).values())
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
    drawn = len(rendered_nodes(frame))
    assert drawn == 1 + len(expected["near"]) + len(expected["entities"])
    return drawn


def check_recommend_table(frame, driver, database) -> None:
    expected = driver.execute_query(
        "MATCH (:User {id: 'u1'})-[r:RECOMMENDED]->(t:Track) WHERE r.rank <= 10 "
        "RETURN t.title AS title ORDER BY r.rank", database_=database)[0]
    text = frame.get_attribute("textContent")
    assert f"Started streaming {len(expected)} records" in text, text[-400:]
    assert all(r["title"] in text for r in expected)


def check_explain(frame, driver, database) -> None:
    text = frame.get_attribute("textContent")
    assert "track(s) you listened to" in text and not re.search(r"\[-?0\.\d+, -?0\.\d+", text)
    assert re.search(r"'[^']+' (-[A-Z_.a-z]+->|<-[A-Z_.a-z]+-) '", text), text[-600:]


def check_model(frame, driver, database) -> None:
    """Slide 4's model table: its kind and test scores are columns, not JSON text."""
    [model] = driver.execute_query("MATCH (m:Model {current: true}) RETURN m", database_=database)[0]
    text = frame.get_attribute("textContent")
    assert model["m"]["model_type"] == "mkgcn" and "test_recall_at_20" in text and '"mkgcn"' in text, text[-600:]
    assert f"{model['m']['test_recall_at_20']:.4f}".rstrip("0") in text


#: What the walk checks in the frame of a guide block (found by the block's first line), and
#: the screenshot it takes there.
CHECKS = {"CALL db.schema.visualization()": (check_schema, "03-schema-graph"),
          "MATCH (t:Track {id: $trackId})": (check_track, "04-track-neighbourhood"),
          "MATCH (u:User {id: $userId})-[r:RECOMMENDED]": (check_recommended, "05-recommended-graph"),
          "MATCH (m:Model {current: true})\nWITH m.id AS model": (check_recommend_table, "06-recommend-table"),
          "MATCH (u:User {id: $userId})\nWITH u, coalesce(": (check_explain, "07-explain-table"),
          "MATCH (m:Model {current: true})\nRETURN m.id AS model": (check_model, "08-model-table")}


def test_browser_walks_the_whole_guide(demo, chrome, settings, driver, database):
    page = BrowserPage(chrome, settings)
    page.connect()

    # 1. after connecting, the server's post-connect command opens the mmkg guide in the
    #    sidebar, and the Browser plays no start guide of its own (it leads to the Movies guide)
    guide = page.guide()
    page.wait.until(lambda _: any(":server connect" in f.text for f in page.frames()))
    assert [f for f in page.frames() if ":play start" in f.text] == []
    page.shot("01-guide-in-sidebar-on-connect")

    # 2. the style, pasted after :style, parses (no InvalidGrassError) and is applied
    page.paste(":style\n" + STYLE.read_text())
    style_frame = page.run()
    assert "InvalidGrassError" not in style_frame.get_attribute("textContent")
    assert "node.Entity" in style_frame.get_attribute("textContent")
    page.shot("02-style-pasted")

    # 3. every block of every slide, clicked and run in order: no error, no Warn tab; the guide
    #    stays, so each next slide (and after the last block, every slide) can be reached
    ran, track_nodes = 0, None
    for number in range(1, SLIDES + 1):
        page.go_to_slide(guide, number)
        for block in page.shown_blocks(guide):
            text = block.get_attribute("textContent").strip()
            frame = page.click_and_run(block)
            ran += 1
            assert not page.errors(), (text, page.errors())
            assert not warnings(frame), text
            check = next((c for prefix, c in CHECKS.items() if text.startswith(prefix)), None)
            if check:
                result = check[0](frame, driver, database)
                track_nodes = result if check[0] is check_track else track_nodes
                page.shot(check[1])
    assert ran == len([b for slide in guide_slides(settings.neo4j.http_port) for b in slide]) > 15
    page.shot("09-after-the-last-block")
    for number in (SLIDES, 1, SLIDES):
        page.go_to_slide(guide, number)

    # 4. slide 2's query again, after every later slide set its parameters: the same graph
    page.go_to_slide(guide, 2)
    frame = page.run_block(guide, "MATCH (t:Track {id: $trackId})")
    assert not page.errors(), page.errors()
    assert len(rendered_nodes(frame)) == track_nodes
    page.shot("10-slide-2-again")
    assert guides_url(settings.neo4j.http_port).startswith(f"http://127.0.0.1:{settings.neo4j.http_port}/")
