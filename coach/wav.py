"""WAV files: the one reader (any PCM or float WAV, as mono int16) and the one writer (mono
int16, atomically) that the speech cache, the corpus and ``coach recognize`` share."""

from __future__ import annotations

import os
import struct
import wave
from pathlib import Path

import numpy as np

from .errors import CoachError


class AudioFileError(CoachError):
    """A file is not audio the coach can read."""


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A WAV file (PCM 8/16/24/32-bit or float, any channels) as mono int16 samples and its
    rate; a file cut short of its declared audio is damaged."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise AudioFileError(f"{path}: cannot read it ({err.strerror or err})") from None
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFileError(f"{path}: not a WAV file; the coach reads WAV audio (convert "
                             "other formats first, e.g. `sox in.mp3 out.wav`)")
    fmt, frames = None, None
    pos = 12
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if tag == b"fmt ":
            fmt = body
        elif tag == b"data":
            if len(body) < size:
                raise AudioFileError(f"{path}: the WAV file is cut short ({len(body)} of "
                                     f"{size} bytes of audio)")
            frames = body
        pos += 8 + size + (size & 1)
    if fmt is None or frames is None or len(fmt) < 16:
        raise AudioFileError(f"{path}: a WAV file without audio (no fmt or data chunk)")
    code, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if code == 0xFFFE and len(fmt) >= 26:
        code = struct.unpack("<H", fmt[24:26])[0]
    width = bits // 8
    if channels < 1 or rate < 1000 or width < 1:
        raise AudioFileError(f"{path}: a damaged WAV header ({channels} channels, {rate} Hz)")
    usable = len(frames) - len(frames) % (width * channels)
    raw = frames[:usable]
    if code == 3 and width in (4, 8):
        samples = np.frombuffer(raw, dtype="<f4" if width == 4 else "<f8").astype(np.float64)
    elif code == 1 and width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128) / 128
    elif code == 1 and width in (2, 3, 4):
        if width == 3:
            b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16))
            ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        else:
            ints = np.frombuffer(raw, dtype="<i2" if width == 2 else "<i4").astype(np.int64)
        samples = ints / float(1 << (8 * width - 1))
    else:
        raise AudioFileError(f"{path}: WAV encoding {code} with {bits}-bit samples is not "
                             "supported; expected PCM (8, 16, 24, 32-bit) or float")
    mono = samples.reshape(-1, channels).mean(axis=1)
    # 32768, the scale the integers were divided by: 16-bit audio comes back bit for bit
    pcm = np.clip(np.round(mono * 32768), -32768, 32767).astype(np.int16)
    return pcm, rate


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write mono int16 samples as a WAV file, atomically (a crash leaves no half file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with wave.open(str(tmp), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    os.replace(tmp, path)
