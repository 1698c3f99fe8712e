"""Sound devices: finding the speaker and microphone the config names."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import CoachError

_LOGGER = logging.getLogger(__name__)

PORTAUDIO_INSTALL = "sudo apt-get install -y libportaudio2"


class AudioUnavailable(CoachError):
    """PortAudio is missing, or a device the config names does not exist."""


@dataclass(frozen=True)
class Device:
    """One sound device."""

    index: int
    """PortAudio device index."""
    name: str
    """Device name."""
    inputs: int
    """Input channels (0 = not a microphone)."""
    outputs: int
    """Output channels (0 = not a speaker)."""
    default_rate: float
    """Default sample rate in Hz."""


_ALSA_QUIET: list[Any] = []


def _quiet_alsa() -> None:
    """Keep alsa-lib's own messages ("underrun occurred") off the user's terminal; the
    player counts underruns itself."""
    if _ALSA_QUIET:
        return
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("asound") or "libasound.so.2")
        handler = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                   ctypes.c_int, ctypes.c_char_p)(lambda *args: None)
        lib.snd_lib_error_set_handler(handler)
        _ALSA_QUIET.append(handler)  # keep the callback alive
    except (OSError, AttributeError) as err:
        _LOGGER.debug("alsa-lib messages stay on: %s", err)
        _ALSA_QUIET.append(None)


def sounddevice_module() -> Any:
    """The sounddevice module; AudioUnavailable says how to install PortAudio if missing."""
    _quiet_alsa()
    try:
        import sounddevice
    except OSError as err:  # the module imports, but PortAudio itself is missing
        raise AudioUnavailable(f"PortAudio is not installed ({err}); install it with: "
                               f"{PORTAUDIO_INSTALL}") from None
    except ImportError as err:
        raise AudioUnavailable(f"sounddevice is not installed ({err})") from None
    return sounddevice


def list_devices() -> list[Device]:
    """Every device PortAudio sees."""
    sd = sounddevice_module()
    return [Device(i, str(d["name"]), int(d["max_input_channels"]),
                   int(d["max_output_channels"]), float(d["default_samplerate"]))
            for i, d in enumerate(sd.query_devices())]


def find_device(spec: str, kind: str) -> Device:
    """The device ``spec`` names (index, or part of a name; empty = system default).

    ``kind`` is ``output`` or ``input``. A missing device raises AudioUnavailable listing the
    devices there are.
    """
    devices = list_devices()
    usable = [d for d in devices if (d.outputs if kind == "output" else d.inputs) > 0]
    chosen: Device | None = None
    if not spec:
        sd = sounddevice_module()
        default = sd.default.device[0 if kind == "input" else 1]
        chosen = next((d for d in usable if d.index == default), None)
        if chosen is None and usable:
            chosen = usable[0]
    elif spec.strip().isdigit():
        chosen = next((d for d in usable if d.index == int(spec)), None)
    else:
        chosen = next((d for d in usable if spec.lower() in d.name.lower()), None)
    if chosen is None:
        have = "; ".join(f"{d.index}: {d.name}" for d in usable) or "none at all"
        what = f"{kind} device {spec!r}" if spec else f"{kind} device"
        raise AudioUnavailable(f"no {what} found. {kind.capitalize()} devices: {have}. "
                               "Set audio." + ("output_device" if kind == "output" else
                                               "input_device") +
                               " in config.toml, or use `coach text` to type instead.")
    return chosen


def format_devices(devices: list[Device]) -> str:
    """A readable table of devices."""
    rows = [f"{'#':>3}  {'in':>3} {'out':>3}  {'rate':>6}  name"]
    rows += [f"{d.index:>3}  {d.inputs:>3} {d.outputs:>3}  {d.default_rate:>6.0f}  {d.name}"
             for d in devices]
    return "\n".join(rows) if devices else "no sound devices found"


def resample(samples: np.ndarray, rate: int, target: int, *, block: int = 1 << 16
             ) -> np.ndarray:
    """Mono samples at ``rate`` converted to ``target`` Hz (linear interpolation).

    Downsampling first averages neighbouring samples, a cheap low-pass that keeps speech
    clear and stops the worst aliasing. ``block`` samples are made at a time, each from
    the stretch of input it needs, so a long recording is not copied whole as floats.
    """
    if rate == target or samples.size == 0:
        return samples
    width = max(1, round(rate / target)) if target < rate else 1
    before, after = width // 2, (width - 1) // 2  # the neighbours averaged with a sample
    kernel = np.ones(width, dtype=np.float32) / width
    out = np.empty(max(1, round(samples.size * target / rate)), samples.dtype)
    for first in range(0, out.size, block):
        positions = np.arange(first, min(first + block, out.size)) * (rate / target)
        low, high = int(positions[0]), min(samples.size, int(positions[-1]) + 2)
        start, end = max(0, low - before), min(samples.size, high + after)
        x = np.concatenate([np.zeros(start - (low - before), np.float32),
                            samples[start:end].astype(np.float32),
                            np.zeros(high + after - end, np.float32)])
        if width > 1:
            x = np.convolve(x, kernel, mode="valid")  # outside the samples counts as silence
        made = np.interp(positions - low, np.arange(high - low), x)
        if np.issubdtype(samples.dtype, np.integer):
            info = np.iinfo(samples.dtype)
            made = np.clip(np.round(made), info.min, info.max)
        out[first:first + made.size] = made
    return out
