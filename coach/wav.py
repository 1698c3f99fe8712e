"""WAV files: the one reader (any PCM or float WAV, as mono int16) and the one writer (mono
int16, atomically) that the speech cache, the corpus and ``coach recognize`` share."""

from __future__ import annotations

import os
import struct
import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import CoachError


class AudioFileError(CoachError):
    """A file is not audio the coach can read."""


BLOCK_FRAMES = 1 << 18
"""Frames decoded at a time: a long recording is held once, as int16, not as bytes, 64-bit
integers and floats all at once (a 20-minute file took 1 GB)."""
UNKNOWN_SIZE = 0x7FFF0000
"""Sizes from here up stand for "unknown": a WAV written to a pipe (``sox ... | cat``,
``arecord > f.wav``, ffmpeg) cannot go back to write its length, and says 2 or 4 GB."""


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A WAV file (PCM 8/16/24/32-bit or float, any channels) as mono int16 samples and its
    rate; a file cut short of its declared audio is damaged."""
    try:
        with path.open("rb") as f:
            code, channels, rate, width, size = _header(f, path)
            frame = width * channels
            count = size // frame
            pcm = np.empty(count, np.int16)
            for start in range(0, count, BLOCK_FRAMES):
                frames = min(BLOCK_FRAMES, count - start)
                pcm[start:start + frames] = _decode(f.read(frames * frame), code, width, channels)
    except OSError as err:
        raise AudioFileError(f"{path}: cannot read it ({err.strerror or err})") from None
    return pcm, rate


def _header(f: BinaryIO, path: Path) -> tuple[int, int, int, int, int]:
    """Read a WAV file's chunks up to its audio (left at the file's position): its encoding,
    channels, rate, bytes per sample and bytes of audio."""
    total = os.fstat(f.fileno()).st_size
    riff = f.read(12)
    if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        raise AudioFileError(f"{path}: not a WAV file; the coach reads WAV audio (convert "
                             "other formats first, e.g. `sox in.mp3 out.wav`)")
    fmt = None
    while len(head := f.read(8)) == 8:
        tag, size = head[:4], struct.unpack("<I", head[4:])[0]
        if tag == b"fmt ":
            fmt = f.read(size)
            f.seek(size & 1, os.SEEK_CUR)
        elif tag == b"data" and fmt is not None and len(fmt) >= 16:
            if f.tell() + size > total and size >= UNKNOWN_SIZE:
                size = total - f.tell()  # written to a pipe: the audio runs to the end
            if f.tell() + size > total:
                raise AudioFileError(f"{path}: the WAV file is cut short "
                                     f"({total - f.tell()} of {size} bytes of audio)")
            return (*_format(fmt, path), size)
        else:
            f.seek(size + (size & 1), os.SEEK_CUR)
    raise AudioFileError(f"{path}: a WAV file without audio (no fmt or data chunk)")


def _format(fmt: bytes, path: Path) -> tuple[int, int, int, int]:
    """A fmt chunk's encoding, channels, rate and bytes per sample, if the coach reads it."""
    code, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if code == 0xFFFE and len(fmt) >= 26:
        code = struct.unpack("<H", fmt[24:26])[0]
    width = bits // 8
    if channels < 1 or rate < 1000 or width < 1:
        raise AudioFileError(f"{path}: a damaged WAV header ({channels} channels, {rate} Hz)")
    if not ((code == 3 and width in (4, 8)) or (code == 1 and width in (1, 2, 3, 4))):
        raise AudioFileError(f"{path}: WAV encoding {code} with {bits}-bit samples is not "
                             "supported; expected PCM (8, 16, 24, 32-bit) or float")
    return code, channels, rate, width


def _decode(raw: bytes, code: int, width: int, channels: int) -> np.ndarray:
    """Whole frames of WAV audio as mono int16."""
    if code == 3:
        samples = np.frombuffer(raw, dtype="<f4" if width == 4 else "<f8").astype(np.float64)
    elif width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128) / 128
    else:
        if width == 3:
            b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16))
            ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        else:
            ints = np.frombuffer(raw, dtype="<i2" if width == 2 else "<i4").astype(np.int64)
        samples = ints / float(1 << (8 * width - 1))
    mono = samples.reshape(-1, channels).mean(axis=1)
    # 32768, the scale the integers were divided by: 16-bit audio comes back bit for bit
    pcm: np.ndarray = np.clip(np.round(mono * 32768), -32768, 32767).astype(np.int16)
    return pcm


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write mono int16 samples as a WAV file, atomically (a crash leaves no half file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with wave.open(str(tmp), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    os.replace(tmp, path)
