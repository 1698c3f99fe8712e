"""A large file's SHA-256 is computed once for each size and modification time."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from coach import paths


def test_a_digest_is_remembered_until_the_file_changes(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COACH_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights" * 1000)
    reads = []
    real = paths.sha256_file
    monkeypatch.setattr(paths, "sha256_file", lambda p: reads.append(p) or real(p))
    first = paths.remembered_sha256(model)
    assert first == hashlib.sha256(model.read_bytes()).hexdigest()
    assert paths.remembered_sha256(model) == first and len(reads) == 1, "read once"
    model.write_bytes(b"damaged" * 1000)  # same size, a new modification time
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert paths.remembered_sha256(model) == hashlib.sha256(model.read_bytes()).hexdigest()
    assert len(reads) == 2, "read again once it changed"


def test_a_damaged_or_unwritable_record_only_costs_a_read(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "sha256.json").write_text("{not json", encoding="utf-8")
    monkeypatch.setenv("COACH_CACHE_DIR", str(cache))
    model = tmp_path / "model.bin"
    model.write_bytes(b"x" * 100)
    assert paths.remembered_sha256(model) == hashlib.sha256(b"x" * 100).hexdigest()
    monkeypatch.setenv("COACH_CACHE_DIR", str(model))  # a file, not a folder: cannot write
    assert paths.remembered_sha256(model) == hashlib.sha256(b"x" * 100).hexdigest()
