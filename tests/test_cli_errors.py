"""The most likely user errors, through the real ``mmkg`` command in a subprocess: each ends as
exactly one line on stderr, without a traceback, and with a non-zero exit status."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def mmkg(*args, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mmkg", *map(str, args)], cwd=cwd,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=120)


def assert_one_line_error(done: subprocess.CompletedProcess, status: int, *fragments: str) -> None:
    """Exit ``status``, and stderr is one line holding every fragment (stdout has no traceback)."""
    lines = done.stderr.splitlines()
    assert done.returncode == status, done.stderr
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("scheme", ["bolt", "neo4j"])
def test_local_server_down(scheme):
    """Nothing at the local server's port: start it."""
    port = unused_port()
    done = mmkg("recommend", "u1", env={"MMKG_NEO4J_URI": f"{scheme}://127.0.0.1:{port}",
                                        "MMKG_NEO4J_BOLT_PORT": str(port)})
    assert_one_line_error(done, 1, f"no Neo4j answering at {scheme}://127.0.0.1:{port}", "mmkg db start")


def test_other_server_down():
    """Nothing at a URI that is not the local server's: `mmkg db start` would not start it."""
    port, local = unused_port(), unused_port()
    done = mmkg("recommend", "u1", env={"MMKG_NEO4J_URI": f"bolt://localhost:{port}",
                                        "MMKG_NEO4J_BOLT_PORT": str(local)})
    assert_one_line_error(done, 1, f"no Neo4j answering at bolt://localhost:{port}",
                          "running, and reachable from here")
    assert "db start" not in done.stderr


def test_wrong_password(server):
    done = mmkg("recommend", "u1", env={"MMKG_NEO4J_PASSWORD": "not-the-password"})
    assert_one_line_error(done, 1, "rejected user 'neo4j' with the configured password",
                          "MMKG_NEO4J_PASSWORD")
    assert "not-the-password" not in done.stderr + done.stdout


@pytest.mark.parametrize("scheme, plain", [("bolt+s", "bolt"), ("bolt+ssc", "bolt"), ("neo4j+s", "neo4j")])
def test_a_tls_scheme_to_the_plain_local_server_says_so(settings, server, scheme, plain):
    at = f"127.0.0.1:{settings.neo4j.bolt_port}"
    done = mmkg("--uri", f"{scheme}://{at}", "features", "--list")
    assert_one_line_error(done, 1, f"no encrypted connection to {scheme}://{at}",
                          "the local server of `mmkg db start` has no TLS", f"use {plain}://{at}")


def test_wrong_password_file(server, tmp_path):
    """The local server's password is read from $MMKG_HOME: another home's file names itself."""
    (tmp_path / "neo4j-password").write_text("another-home\n")
    env = {key: value for key, value in os.environ.items() if key != "MMKG_NEO4J_PASSWORD"}
    done = subprocess.run([sys.executable, "-m", "mmkg", "recommend", "u1"], cwd=ROOT,
                          env={**env, "MMKG_HOME": str(tmp_path)}, capture_output=True, text=True,
                          timeout=120)
    assert_one_line_error(done, 1, f"the password in {tmp_path / 'neo4j-password'}",
                          "another MMKG_HOME")
    assert "another-home" not in done.stderr + done.stdout


@pytest.mark.usefixtures("uri_scheme")
def test_unknown_user(empty_db):
    assert_one_line_error(mmkg("recommend", "nobody"), 1, "unknown user 'nobody'")


@pytest.mark.usefixtures("uri_scheme")
def test_similar_with_an_unknown_track(empty_db):
    assert_one_line_error(mmkg("similar", "t99"), 1, "unknown track(s): t99")


@pytest.mark.usefixtures("uri_scheme")
def test_a_long_unknown_id_is_echoed_by_its_start_and_length(empty_db):
    """An unknown id is echoed whole up to 64 characters, else by its first 40 and its length,
    which for one over 1,024 characters says no id is so long (ingest refuses them)."""
    cut = "x" * 40 + "…"
    for args, fragment in ((["recommend", "x" * 5000], f"unknown user '{cut}' (5,000 characters; "),
                           (["similar", "x" * 5000], f"unknown track(s): {cut} (5,000 characters; "),
                           (["recommend", "--like", "t1", "--like", "x" * 5000],
                            f"unknown track(s): t1, {cut} (5,000 characters; ")):
        done = mmkg(*args)
        assert_one_line_error(done, 1, fragment + "no id is longer than 1,024)")
        assert len(done.stderr) < 150, done.stderr
    for n, end in ((100, f"unknown user '{cut}' (100 characters)"), (64, f"unknown user '{'x' * 64}'")):
        done = mmkg("recommend", "x" * n)
        assert_one_line_error(done, 1)
        assert done.stderr.rstrip().endswith(end), done.stderr

@pytest.mark.usefixtures("uri_scheme")
def test_publish_a_folder_that_is_not_a_run(empty_db, tmp_path):
    assert_one_line_error(mmkg("publish", tmp_path), 1, "no embeddings.pt", "mmkg train --out")


@pytest.mark.usefixtures("uri_scheme")
def test_train_on_a_graph_without_a_listen(empty_db, database, tmp_path):
    """`mmkg train` exports the tracks with a listen: with none, it says what to ingest."""
    empty_db.execute_query("MERGE (:Track {id: 't0'}) MERGE (:User {id: 'u0'})", database_=database)
    done = mmkg("train", "--out", tmp_path / "run", "--quiet")
    assert_one_line_error(done, 1, "no track has a listen yet: ingest listens")
    assert not (tmp_path / "run").exists()


def test_eval_a_missing_run_folder(tmp_path):
    done = mmkg("eval", "--run", tmp_path / "no-run")
    assert_one_line_error(done, 2, "does not exist", "mmkg eval --help")


@pytest.mark.parametrize("config", ['epochs = 2\nlrr = 0.01\n', 'lr = -1.0\n'],
                         ids=["typo", "negative-lr"])
def test_bad_training_config(tmp_path, config):
    (tmp_path / "bad.toml").write_text(config)
    done = mmkg("train", "--config", tmp_path / "bad.toml", "--out", tmp_path / "run",
                "--export", tmp_path)
    assert_one_line_error(done, 1, "lrr" if "lrr" in config else "lr")


def test_bad_settings_file(tmp_path):
    (tmp_path / "mmkg.toml").write_text("[neo4j]\nbolt_prot = 7687\n")
    done = mmkg("--config", tmp_path / "mmkg.toml", "recommend", "u1")
    assert_one_line_error(done, 1, "invalid settings", "neo4j.bolt_prot")


def test_unknown_catalog_format(tmp_path):
    done = mmkg("ingest", tmp_path, "--format", "csv")
    assert_one_line_error(done, 2, "'csv' is not one of 'catalog', 'kgcn', 'mkgcn'")


def test_catalog_folder_that_does_not_exist(tmp_path):
    done = mmkg("ingest", tmp_path / "nowhere")
    assert_one_line_error(done, 2, "does not exist")


def test_malformed_catalog_file(tmp_path):
    (tmp_path / "tracks.csv").write_text("id,title\nt1,One\nt2,Two,extra\n")
    done = mmkg("ingest", tmp_path, "--dry-run")
    assert_one_line_error(done, 1, "tracks.csv:3:*: expected 2 fields, found 3", "nothing was written")


def test_export_into_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    done = mmkg("export", tmp_path)
    assert_one_line_error(done, 2, "is not empty", "not an export folder")
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("args", [
    ("similar", "t1", "--k", "9223372036854775807"),
    ("recommend", "--like", "t1", "--k", "9223372036854775807"),
    ("recommend", "u1", "--k", "99999999999999999999"),
    ("recommend", "u1", "--k", "0"),
], ids=["similar-int64-max", "like-int64-max", "recommend-beyond-int64", "zero"])
def test_k_out_of_range_is_a_usage_error(args):
    """Audit item 10: a huge --k used to overflow Neo4j's 64-bit integers into a traceback."""
    assert_one_line_error(mmkg(*args), 2, "Invalid value for '--k'", "1<=x<=1000",
                          f"mmkg {args[0]} --help")


@pytest.mark.parametrize("uri, reason", [
    ("http://127.0.0.1:7474", "scheme 'http' is not one of them"),
    ("bolt://127.0.0.1:notaport", "'notaport'"),
    ("bolt://127.0.0.1:99999", "Port out of range"),
    ("127.0.0.1:7687", "expected bolt|bolt+s|bolt+ssc|neo4j|neo4j+s|neo4j+ssc://HOST[:PORT]"),
], ids=["http", "port-not-a-number", "port-too-big", "no-scheme"])
@pytest.mark.parametrize("how", ["flag", "env"])
def test_unusable_uri_is_one_line(uri, reason, how):
    """Audit item 10: an http:// URI used to end in ModuleNotFoundError (aiohttp), a bad port in
    a traceback; the settings now check the URI's form before any driver is made."""
    args = ("--uri", uri, "recommend", "u1") if how == "flag" else ("recommend", "u1")
    done = mmkg(*args, env={"MMKG_NEO4J_URI": uri} if how == "env" else None)
    assert_one_line_error(done, 1, "invalid settings: neo4j.uri: expected", reason)


def test_a_password_in_the_uri_is_never_echoed():
    done = mmkg("--uri", "bolt://neo4j:s3cret-pw@127.0.0.1:7687", "db", "status")
    assert_one_line_error(done, 1, "neo4j.uri: expected", "bolt://***@127.0.0.1:7687")
    assert "s3cret-pw" not in done.stderr + done.stdout


SECRET = "S3cr3t-Pa55!xyz"


@pytest.mark.parametrize("settings, env, said", [
    (f'[neo4j]\npasswd = "{SECRET}"\n', {}, "neo4j.passwd: unknown key"),      # a typo of a secret
    (f'password = "{SECRET}"\n', {}, "password: unknown key"),                  # outside its table
    (f'[neo4j]\npassword = ["{SECRET}"]\n', {}, "neo4j.password: Input should be a valid string "
                                                  "(value not shown)"),
    ("", {"MMKG_NEO4J_PASSWD": SECRET}, "neo4j.passwd: unknown key"),
])
def test_a_bad_setting_never_echoes_a_secret(tmp_path, settings, env, said):
    (tmp_path / "mmkg.toml").write_text(settings)
    done = mmkg("--config", tmp_path / "mmkg.toml", "db", "status", env=env)
    assert_one_line_error(done, 1, said)
    assert SECRET not in done.stderr + done.stdout


def test_the_settings_file_given_as_a_training_config_is_named_not_echoed(tmp_path):
    (tmp_path / "mmkg.toml").write_text(f'[neo4j]\npassword = "{SECRET}"\n')
    done = mmkg("train", "--config", tmp_path / "mmkg.toml", "--out", tmp_path / "run")
    assert_one_line_error(done, 1, "holds mmkg's settings (neo4j), not a training config",
                          f"mmkg --config {tmp_path / 'mmkg.toml'} train")
    assert SECRET not in done.stderr + done.stdout and not (tmp_path / "run").exists()


@pytest.mark.parametrize("env, said", [
    ({"MMKG_HOME": ""}, "home: expected a folder, found an empty value"),    # would be the current folder
    ({"MMKG_CACHE": ""}, "cache: expected a folder, found an empty value"),
    ({"MMKG_NEO4J_DATABASE": ""}, "neo4j.database: expected a database name (not empty, no spaces)"),
    ({"MMKG_NEO4J_DATABASE": "my db"}, "neo4j.database: expected a database name (not empty, no spaces)"),
])
def test_an_empty_folder_or_database_setting_is_refused(env, said):
    assert_one_line_error(mmkg("db", "status", env=env), 1, said)


def test_a_boolean_port_is_refused(tmp_path, monkeypatch):
    from mmkg.config import load_settings
    from mmkg.errors import ConfigError

    monkeypatch.delenv("MMKG_NEO4J_BOLT_PORT", raising=False)  # the test server's, over the file's
    (tmp_path / "mmkg.toml").write_text("[neo4j]\nbolt_port = true\n")         # not port 1
    with pytest.raises(ConfigError, match="neo4j.bolt_port: expected a port number, found a boolean"):
        load_settings(tmp_path / "mmkg.toml")


@pytest.mark.parametrize("name", ["MMKG_NEO4J_HEAP", "MMKG_NEO4J_PAGECACHE"])
def test_a_memory_setting_cannot_inject_a_line_into_neo4j_conf(name):
    done = mmkg("db", "status", env={name: "1g\ndbms.security.auth_enabled=false"})
    assert_one_line_error(done, 1, f"neo4j.{name.removeprefix('MMKG_NEO4J_').lower()}: String "
                                   "should match pattern")


def test_names_from_data_are_printed_escaped(tmp_path):
    """A header holding OSC 52 (which writes the operator's clipboard) is printed escaped."""
    (tmp_path / "tracks.csv").write_bytes(b"id,title\x1b]52;c;aGVsbG8=\x07\nt1,Song\n")
    done = mmkg("ingest", tmp_path, "--format", "catalog", "--dry-run")
    assert_one_line_error(done, 1, "tracks.csv:1:title\\x1b]52;c;aGVsbG8=\\x07: control character")
    assert "\x1b" not in done.stderr + done.stdout and "\x07" not in done.stderr + done.stdout


@pytest.mark.parametrize("content, looks_like", [
    ("id,title\nt1,Song\n".encode("utf-16"), "UTF-16 (little-endian) text"),
    ("id,title\nt1,Song\n".encode("utf-16-le"), "UTF-16 text (no byte-order mark)"),
    (gzip.compress(b"id,title\nt1,Song\n"), "a gzip archive"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml", "a zip archive"),
])
def test_a_binary_table_is_named_for_what_it_is(tmp_path, content, looks_like):
    (tmp_path / "tracks.csv").write_bytes(content)
    done = mmkg("ingest", tmp_path, "--format", "catalog", "--dry-run")
    assert_one_line_error(done, 1, f"tracks.csv:1:*: not UTF-8 text: the file looks like {looks_like}")
    assert not any(ord(c) < 32 and c not in "\n\t" for c in done.stderr)


def test_the_terminal_shows_mmkg_s_info_and_every_library_s_warnings_only():
    """A library's INFO lines (ONNX Runtime's quantiser logs dozens on the root logger when a
    machine builds the lyrics model) stay off the terminal; mmkg's own INFO and a library's
    warnings reach it; with -v everything does."""
    probe = ("import logging, sys\n"
             "from mmkg.cli.main import cli\n"
             "@cli.command('probe-log')\n"
             "def probe():\n"
             "    logging.getLogger().info('root info')\n"
             "    logging.getLogger('onnxruntime.quantization').info('library info')\n"
             "    logging.getLogger('mmkg.train.fit').info('own info')\n"
             "    logging.getLogger('librosa').warning('library warning')\n"
             "cli(sys.argv[1:])\n")

    def stderr(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", probe, *args, "probe-log"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stderr

    quiet = stderr()
    assert "own info" in quiet and "library warning" in quiet
    assert "root info" not in quiet and "library info" not in quiet
    assert "root info" in stderr("-v") and "library info" in stderr("-v")


def test_an_ids_file_that_is_not_utf8_is_one_line_naming_line_and_column(tmp_path):
    ids = tmp_path / "users.txt"
    ids.write_bytes(b"u1\nu\xe9\n")
    done = mmkg("export", tmp_path / "out", "--users-file", ids)
    assert_one_line_error(done, 2, "Invalid value for '--users-file'",
                          f"{ids}:2:2: byte 0xe9 is not UTF-8: expected UTF-8 text, one id per line")
    done = mmkg("delete-users", "--file", ids, "--yes")
    assert_one_line_error(done, 2, "Invalid value for '--file'", f"{ids}:2:2: byte 0xe9 is not UTF-8")


@pytest.mark.parametrize("command", [("ingest", "--dry-run"), ("features",)])
def test_a_media_root_that_is_not_a_folder_is_one_line(tmp_path, command):
    (tmp_path / "tracks.csv").write_text("id,title\nt1,Song\n")
    args = [command[0], tmp_path, *command[1:]] if command[0] == "ingest" else list(command)
    done = mmkg(*args, env={"MMKG_MEDIA_ROOT": str(tmp_path / "gone")})
    assert_one_line_error(done, 1, f"media.root (MMKG_MEDIA_ROOT) {tmp_path / 'gone'} is not a folder")


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """``mmkg db status | head -1``: once ``head`` exits, nothing more, no "Broken pipe" error."""
    done = subprocess.Popen([sys.executable, "-m", "mmkg", "db", "status"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done.stdout.close()  # before it writes its first line
    assert done.wait(timeout=120) == 141
    assert done.stderr.read() == ""
