"""How the Vosk engine finds a model's unknown-word token: Kaldi recipes spell it ``[unk]``,
``<unk>`` or ``<UNK>``, and a grammar naming the wrong one leaves everything else to be forced
onto a command."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from coach.listen_vosk import UNKNOWN, _fst_words, unknown_word


def text(s: str) -> bytes:
    raw = s.encode()
    return struct.pack("<i", len(raw)) + raw


def fst(words: list[str], *, flags: int = 3, magic: int = 2125659606) -> bytes:
    """The start of an OpenFst binary file: its header and input symbol table."""
    header = (struct.pack("<i", magic) + text("vector") + text("standard")
              + struct.pack("<ii", 2, flags) + struct.pack("<Qqqq", 0, 0, 1, 0))
    table = struct.pack("<i", 2125658996) + text("words.txt") + struct.pack(
        "<qq", len(words), len(words))
    table += b"".join(text(w) + struct.pack("<q", i) for i, w in enumerate(words))
    return header + table


def model(tmp_path: Path, *, words_txt: str | None = None, gr: bytes | None = None) -> Path:
    graph = tmp_path / "model" / "graph"
    graph.mkdir(parents=True)
    if words_txt is not None:
        (graph / "words.txt").write_text(words_txt, encoding="utf-8")
    if gr is not None:
        (graph / "Gr.fst").write_bytes(gr)
    return graph.parent


@pytest.mark.parametrize("token", ["[unk]", "<unk>", "<UNK>"])
def test_the_unknown_word_is_read_from_words_txt(tmp_path: Path, token: str) -> None:
    path = model(tmp_path, words_txt=f"<eps> 0\n{token} 1\nstop 2\n")
    assert unknown_word(path) == token


def test_the_unknown_word_is_read_from_the_symbols_inside_gr_fst(tmp_path: Path) -> None:
    path = model(tmp_path, gr=fst(["<eps>", "!SIL", "<UNK>", "멈춰", "정지"]) + b"\0" * 64)
    assert unknown_word(path) == "<UNK>"
    assert _fst_words(path / "graph" / "Gr.fst", ("정지",)) == ["정지"]


@pytest.mark.parametrize("gr", [
    fst(["<eps>", "<UNK>"])[:40],                    # cut off inside the header
    fst(["<eps>", "<UNK>"])[:-12],                   # cut off inside the table
    fst(["<eps>", "<UNK>"], flags=0),                # no symbol table
    fst(["<eps>", "<UNK>"], magic=1234),             # not an FST
    b"PK\x03\x04 not an fst at all",
    b"",
])
def test_a_graph_it_cannot_read_means_the_usual_token(tmp_path: Path, gr: bytes) -> None:
    assert unknown_word(model(tmp_path, gr=gr)) == UNKNOWN


def test_no_graph_at_all_means_the_usual_token(tmp_path: Path) -> None:
    assert unknown_word(tmp_path) == UNKNOWN
