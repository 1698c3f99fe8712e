"""A virtual speaker and microphone for the coach's audio tests: a private PulseAudio server.

Devices on the private server (no sound card needed):

- sink ``vspeaker`` (default output, 48 kHz mono): what a program plays can be recorded from
  ``vspeaker.monitor`` with :meth:`VirtualAudio.record_speaker`.
- source ``vmic`` (default input), a remap of ``vmic_feed.monitor``: whatever
  :meth:`VirtualAudio.play_into_mic` plays into the null sink ``vmic_feed`` is what a program
  recording from the default input hears.

Programs reach the server through ``PULSE_SERVER``/``PULSE_COOKIE`` (:attr:`VirtualAudio.env`);
sounddevice gets there via PortAudio's ALSA host API and the ALSA ``pulse``/``default`` PCMs of
Debian's ``libasound2-plugins``. PortAudio scans devices, and ALSA decides whether ``default`` means
``pulse``, once, when ``sounddevice`` is imported: start the server and export the env first.

Both null sinks have ``norewinds=1``: without it PortAudio streams stall for up to ~2 s after
opening and playback underruns in bursts.

By hand::

    eval "$(python tests/virtual_audio.py start)"   # exports PULSE_SERVER, PULSE_COOKIE
    coach bench speak
    python tests/virtual_audio.py stop
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import ctypes.util
import glob
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

_LOGGER = logging.getLogger(__name__)

SPEAKER = "vspeaker"
"""The null sink that is the default output."""
SPEAKER_MONITOR = f"{SPEAKER}.monitor"
"""Where what is played on the speaker can be recorded."""
MIC_FEED = "vmic_feed"
"""The null sink the test harness plays into; its monitor is the microphone."""
MIC = "vmic"
"""The remap source that is the default input."""
SERVER_RATE = 48000
"""Sample rate of the virtual devices, Hz."""

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
INSTALL_HINT = "apt-get install pulseaudio pulseaudio-utils libasound2-plugins"
_SUN_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes including the terminating NUL
_PR_SET_PDEATHSIG = 1

_PA_TEMPLATE = """\
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
load-module module-null-sink sink_name={speaker} rate={rate} channels=1 norewinds=1 \
sink_properties=device.description=VirtualSpeaker
load-module module-null-sink sink_name={feed} rate={rate} channels=1 norewinds=1 \
sink_properties=device.description=VirtualMicFeed
load-module module-remap-source source_name={mic} master={feed}.monitor channels=1 \
source_properties=device.description=VirtualMic
set-default-sink {speaker}
set-default-source {mic}
"""


class VirtualAudioUnavailable(RuntimeError):
    """The virtual audio server cannot be started here."""

    def __init__(self, reason: str, log_tail: str = "") -> None:
        self.reason = reason
        """Why, and what to install or change."""
        self.log_tail = log_tail
        """The last lines of the daemon's log, if it got that far."""
        super().__init__(f"{reason}\n--- pulseaudio log (tail) ---\n{log_tail}" if log_tail
                         else reason)


def available() -> str | None:
    """None if a virtual audio server can be started and used here, else the reason."""
    missing: list[str] = []
    for exe, package in (("pulseaudio", "pulseaudio"), ("pactl", "pulseaudio-utils"),
                         ("paplay", "pulseaudio-utils"), ("parecord", "pulseaudio-utils")):
        if shutil.which(exe) is None:
            missing.append(f"{exe} ({package})")
    plugin_dirs = ("/usr/lib/*/alsa-lib", "/usr/lib/alsa-lib", "/usr/lib64/alsa-lib")
    if not any(glob.glob(f"{d}/libasound_module_pcm_pulse.so") for d in plugin_dirs):
        missing.append("the ALSA pulse plugin (libasound2-plugins)")
    if ctypes.util.find_library("portaudio") is None:
        missing.append("PortAudio (libportaudio2)")
    if not missing:
        return None
    return f"missing {', '.join(missing)}: {INSTALL_HINT} libportaudio2"


def require_or_skip(reason: str | None) -> None:
    """Skip the calling test because virtual audio is unavailable, or fail it on CI.

    Does nothing if ``reason`` is None. On CI (env var ``CI`` set and not "0"/"false") a missing
    audio setup is a broken build, so the test fails instead of silently skipping.
    """
    if reason is None:
        return
    import pytest  # here, so that the CLI does not need pytest

    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"virtual audio unavailable on CI: {reason}", pytrace=False)
    pytest.skip(f"virtual audio unavailable: {reason}")


# ------------------------------------------------------------------------------- WAV helpers

def write_wav(path: Path, samples: npt.NDArray[np.int16], rate: int) -> Path:
    """Write int16 samples, shape (n,) or (n, channels), as a PCM WAV file."""
    data = np.asarray(samples)
    if data.dtype != np.int16:
        raise ValueError(f"samples have dtype {data.dtype}; expected int16")
    if data.ndim not in (1, 2):
        raise ValueError(f"samples have shape {data.shape}; expected (n,) or (n, channels)")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1 if data.ndim == 1 else data.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data.astype("<i2").tobytes())
    return path


# ---------------------------------------------------------------------------------- analysis

def _level(samples: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Absolute level per frame as a fraction of full scale (ints scaled, floats as they are)."""
    x = np.asarray(samples)
    scale = float(np.iinfo(x.dtype).max) + 1.0 if np.issubdtype(x.dtype, np.integer) else 1.0
    level = np.abs(x.astype(np.float64)) / scale
    return level.max(axis=1) if level.ndim == 2 else level


def onsets(samples: npt.NDArray[Any], rate: int, threshold: float = 0.02,
           min_gap_s: float = 0.1) -> list[float]:
    """Times where sound starts after silence, for checking that counts land on a beat.

    Parameters
    ----------
    samples : int or float array, shape (n,) or (n, channels); ints are scaled to full scale.
    rate : sample rate, Hz.
    threshold : a sample is sound when its absolute value exceeds this fraction of full scale
        (0.02 is -34 dBFS; the virtual devices are digitally silent otherwise).
    min_gap_s : silence shorter than this does not end a sound (zero crossings, the closure
        before a plosive); raise it for speech with long internal pauses.

    Returns
    -------
    The time, in seconds from the first sample, of the first sample of each sound, exact to the
    sample. A sound already playing at sample 0 counts as an onset at 0.0.
    """
    loud = np.flatnonzero(_level(samples) > threshold)
    if loud.size == 0:
        return []
    starts = np.concatenate(([loud[0]], loud[1:][np.diff(loud) > min_gap_s * rate]))
    return [float(i) / rate for i in starts]


def last_sound(samples: npt.NDArray[Any], rate: int, threshold: float = 0.02) -> float | None:
    """Time (s from the first sample) of the last sample above ``threshold``, None if silent."""
    loud = np.flatnonzero(_level(samples) > threshold)
    return float(loud[-1]) / rate if loud.size else None


def align(recorded: npt.NDArray[Any], source: npt.NDArray[Any], rate: int) -> tuple[float, float]:
    """Find ``source`` inside ``recorded`` (both mono).

    Returns
    -------
    (offset_s, r): where the source starts in the recording (s, at the cross-correlation peak)
    and the Pearson correlation of the two there. The server resamples 16k -> 48k -> 16k, which
    adds a fraction-of-a-sample delay: r of a 440 Hz tone stays above 0.99, of a 6 kHz one not.
    """
    rec = np.asarray(recorded, dtype=np.float64).ravel()
    src = np.asarray(source, dtype=np.float64).ravel()
    if len(rec) < len(src):
        raise ValueError(f"recording ({len(rec)} samples) is shorter than the source "
                         f"({len(src)})")
    nfft = 1 << (len(rec) + len(src) - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(rec, nfft) * np.conj(np.fft.rfft(src, nfft)), nfft)
    lag = int(np.argmax(xc[: len(rec) - len(src) + 1]))
    seg = rec[lag: lag + len(src)]
    r = float(np.corrcoef(seg, src)[0, 1]) if seg.std() > 0 and src.std() > 0 else 0.0
    return lag / rate, r


# --------------------------------------------------------------------------------- recording

@dataclass(frozen=True, eq=False)
class Recording:
    """What the virtual speaker played while a :class:`SpeakerRecorder` ran."""

    samples: npt.NDArray[np.int16]
    """Mono int16 samples, shape (n,)."""
    rate: int
    """Sample rate, Hz."""
    started_at: float
    """``time.monotonic()`` at sample 0 (an upper bound: see :class:`SpeakerRecorder`)."""
    spawned_at: float
    """``time.monotonic()`` when parecord was launched (a lower bound for ``started_at``)."""

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.rate

    def to_monotonic(self, t: float) -> float:
        """The ``time.monotonic()`` value of time ``t`` (s) in this recording."""
        return self.started_at + t

    def to_offset(self, monotonic_time: float) -> float:
        """The time in this recording (s) of a ``time.monotonic()`` value."""
        return monotonic_time - self.started_at


class SpeakerRecorder:
    """Records a PulseAudio source (the speaker's monitor) as 16-bit mono via ``parecord --raw``.

    The raw PCM is read from parecord's stdout by a thread that stamps every chunk with
    ``time.monotonic()``; ``started_at = min(t_read - samples_so_far / rate)`` over all chunks,
    the latest time sample 0 can have been delivered. The null sink renders in blocks of the
    requested latency, so a player's first sample and this anchor both snap to that grid. With
    ``latency_ms=5`` (default), sound a player started at monotonic time T appears in the
    recording at ``T - started_at`` give or take a few ms (measured, idle and with every CPU
    busy: -3.6..+0.7 ms, sd 1.2 ms); 10 ms gives -8..+1 ms; 2 ms gives +-1 ms idle but
    outliers of 100+ ms under load. It assumes the stream has no gaps (an overrun would shift
    it), so the reader thread does nothing but read.
    """

    def __init__(self, env: dict[str, str], rate: int = 16000, latency_ms: int = 5,
                 source: str = SPEAKER_MONITOR) -> None:
        self.env = env
        """Environment for parecord (PULSE_SERVER set)."""
        self.rate = rate
        """Sample rate of the recording, Hz."""
        self.latency_ms = latency_ms
        """Requested source latency; smaller means a tighter start time."""
        self.source = source
        """The PulseAudio source recorded."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._chunks: list[bytes] = []
        self._nbytes = 0
        self._anchor = float("inf")
        self._spawned_at = 0.0
        self._first = threading.Event()
        self._recording: Recording | None = None

    def start(self, timeout: float = 5.0) -> SpeakerRecorder:
        """Launch parecord; return once the first audio has arrived (recording is live)."""
        if self._proc is not None:
            raise RuntimeError("this recorder was already started; make a new one")
        cmd = ["parecord", "--raw", f"--device={self.source}", "--format=s16le",
               f"--rate={self.rate}", "--channels=1", f"--latency-msec={self.latency_ms}"]
        self._spawned_at = time.monotonic()
        self._proc = subprocess.Popen(cmd, env=self.env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._thread = threading.Thread(target=self._read, name="parecord-reader", daemon=True)
        self._thread.start()
        if not self._first.wait(timeout):
            self._halt()
            err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
            raise RuntimeError(f"parecord --device={self.source} produced no audio within "
                               f"{timeout:.0f} s: {err.strip()}")
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while chunk := os.read(fd, 65536):
            now = time.monotonic()
            self._chunks.append(chunk)
            self._nbytes += len(chunk)
            self._anchor = min(self._anchor, now - (self._nbytes // 2) / self.rate)
            self._first.set()

    def _halt(self) -> None:
        """SIGINT parecord (it flushes and exits), KILL it if it hangs, and join the reader."""
        assert self._proc is not None
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(STOP_TIMEOUT_S)
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)

    def stop(self) -> Recording:
        """Stop recording and return what was recorded; calling it again returns the same."""
        if self._recording is not None:
            return self._recording
        if self._proc is None:
            raise RuntimeError("the recorder was never started")
        self._halt()
        if self._proc.stderr is not None:
            err = self._proc.stderr.read().decode(errors="replace").strip()
            self._proc.stderr.close()
            if err:
                _LOGGER.debug("parecord: %s", err)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        raw = b"".join(self._chunks)
        samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.int16)
        self._recording = Recording(samples, self.rate, self._anchor, self._spawned_at)
        return self._recording

    @property
    def recording(self) -> Recording:
        """The result, once stopped (after the ``with`` block)."""
        if self._recording is None:
            raise RuntimeError("still recording: use .stop() or leave the with block first")
        return self._recording

    def __enter__(self) -> SpeakerRecorder:
        return self if self._proc is not None else self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


# ------------------------------------------------------------------------------------ server

class _Layout:
    """Where one server keeps its files under its state dir."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.run_dir = state_dir / "run"  # XDG_RUNTIME_DIR; removed by stop()
        self.socket = self.run_dir / "pulse" / "native"
        self.home = state_dir / "home"
        self.cookie = self.home / ".config" / "pulse" / "cookie"
        self.script = state_dir / "virtual.pa"
        self.log = state_dir / "pulseaudio.log"
        self.pid_file = state_dir / "pulseaudio.pid"

    @property
    def env(self) -> dict[str, str]:
        return {"PULSE_SERVER": f"unix:{self.socket}", "PULSE_COOKIE": str(self.cookie)}

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGTERM when the calling thread dies (Linux).

    prctl is looked up here, in the parent: a dlopen between fork and exec could deadlock.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return arm


def _pid_is_ours(pid: int, layout: _Layout) -> bool:
    """Is ``pid`` a live (not zombie) pulseaudio running this layout's script?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and str(layout.script).encode() in cmdline


class VirtualAudio:
    """A private PulseAudio server with a virtual speaker and microphone (see module docs).

    ``VirtualAudio.start(dir)`` starts it; export :attr:`env` into ``os.environ`` before
    ``sounddevice`` is imported and pass it to subprocesses; ``stop()`` (or leaving a ``with``
    block) ends it.
    """

    def __init__(self, layout: _Layout, pid: int,
                 proc: subprocess.Popen[bytes] | None = None) -> None:
        self._layout = layout
        self.pid = pid
        """The daemon's process id."""
        self._proc = proc
        self._stopped = False
        self._wav_count = 0

    # -- lifecycle --------------------------------------------------------------------------

    @classmethod
    def start(cls, state_dir: Path, *, detach: bool = False,
              timeout: float = START_TIMEOUT_S) -> VirtualAudio:
        """Start a server keeping its files in ``state_dir``; wait until it answers.

        A server this module already runs in ``state_dir`` is reused (and left running at
        exit). Unless ``detach`` is set, a new daemon is stopped when this Python process
        exits, or dies with the calling thread if the process is killed, so an interrupted
        test session leaves nothing behind: call it from the main thread. The CLI detaches.

        Raises
        ------
        VirtualAudioUnavailable
            if pulseaudio is missing, or the daemon does not answer ``pactl info`` with the
            virtual devices as defaults within ``timeout`` seconds (with its log tail).
        """
        for exe in ("pulseaudio", "pactl"):
            if shutil.which(exe) is None:
                raise VirtualAudioUnavailable(f"{exe} is not installed: {INSTALL_HINT}")
        layout = _Layout(Path(state_dir).resolve())
        if len(str(layout.socket)) > _SUN_PATH_MAX:
            raise VirtualAudioUnavailable(
                f"state dir {layout.state_dir} is too deep: the socket path "
                f"{layout.socket} is {len(str(layout.socket))} bytes, a unix socket allows "
                f"{_SUN_PATH_MAX}; use a shorter state dir")
        running = cls.attach(layout.state_dir)
        if running is not None:
            _LOGGER.info("reusing the virtual audio server in %s (pid %d)",
                         layout.state_dir, running.pid)
            return running
        shutil.rmtree(layout.run_dir, ignore_errors=True)  # a stale socket from a crashed run
        (layout.run_dir / "pulse").mkdir(parents=True, mode=0o700)
        layout.run_dir.chmod(0o700)
        layout.cookie.parent.mkdir(parents=True, exist_ok=True)
        layout.script.write_text(_PA_TEMPLATE.format(
            socket=layout.socket, speaker=SPEAKER, feed=MIC_FEED, mic=MIC, rate=SERVER_RATE))
        # Private runtime/home dirs so nothing touches the invoking user's sound setup.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
        env.update(XDG_RUNTIME_DIR=str(layout.run_dir),
                   PULSE_RUNTIME_PATH=str(layout.run_dir / "pulse"), HOME=str(layout.home),
                   XDG_CONFIG_HOME=str(layout.home / ".config"),
                   XDG_STATE_HOME=str(layout.home / ".local" / "state"),
                   DBUS_SESSION_BUS_ADDRESS=f"unix:path={layout.run_dir / 'no-bus'}")
        # -n: skip default.pa, which would probe for sound cards.
        cmd = ["pulseaudio", "-n", "-F", str(layout.script), "--daemonize=no",
               "--exit-idle-time=-1", "--disallow-exit=yes", "--use-pid-file=no",
               "--log-target=stderr", "--log-level=notice"]
        with open(layout.log, "wb") as log:
            # Own session: a Ctrl-C meant for pytest must not kill audio mid-test (atexit stops
            # it). Unless detached it also dies with its parent, even on SIGKILL (CI timeouts).
            proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=None if detach else _die_with_parent())
        layout.pid_file.write_text(f"{proc.pid}\n")
        audio = cls(layout, proc.pid, proc)
        try:
            audio._wait_until_up(timeout)
        except BaseException:
            audio.stop()
            raise
        if not detach:
            atexit.register(audio.stop)
        return audio

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        why = "no answer"
        while True:
            if self._proc is not None and self._proc.poll() is not None:
                raise VirtualAudioUnavailable(
                    f"pulseaudio exited with code {self._proc.returncode} while starting",
                    self._layout.log_tail())
            if self._layout.socket.exists():
                try:
                    info = self.pactl("info", timeout=2.0)
                except (subprocess.SubprocessError, OSError) as e:
                    why = str(e)
                else:
                    if (f"Default Sink: {SPEAKER}" in info
                            and f"Default Source: {MIC}" in info):
                        return
                    # The daemon runs its script before it answers anyone, and a failing line
                    # does not stop it: an answer without our devices is final.
                    raise VirtualAudioUnavailable(
                        f"pulseaudio runs but {SPEAKER}/{MIC} are not the defaults (a line of "
                        f"{self._layout.script} failed?):\n{info}", self._layout.log_tail())
            if time.monotonic() >= deadline:
                raise VirtualAudioUnavailable(
                    f"pulseaudio did not answer within {timeout:.0f} s ({why})",
                    self._layout.log_tail())
            time.sleep(0.05)

    @classmethod
    def attach(cls, state_dir: Path) -> VirtualAudio | None:
        """The server this module runs in ``state_dir`` (e.g. from the CLI), or None."""
        layout = _Layout(Path(state_dir).resolve())
        try:
            pid = int(layout.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if not _pid_is_ours(pid, layout):
            return None
        return cls(layout, pid)

    def stop(self) -> None:
        """Stop the daemon (TERM, then KILL after a bounded wait) and remove its runtime dir.

        Idempotent.
        """
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(STOP_TIMEOUT_S)
        elif _pid_is_ours(self.pid, self._layout):  # not our child: poll, init reaps it
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _pid_is_ours(self.pid, self._layout) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _pid_is_ours(self.pid, self._layout):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
        self._layout.pid_file.unlink(missing_ok=True)
        shutil.rmtree(self._layout.run_dir, ignore_errors=True)

    @property
    def running(self) -> bool:
        """Is the daemon process alive?"""
        if self._stopped:
            return False
        if self._proc is not None:
            return self._proc.poll() is None
        return _pid_is_ours(self.pid, self._layout)

    def __enter__(self) -> VirtualAudio:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- clients ----------------------------------------------------------------------------

    @property
    def state_dir(self) -> Path:
        """Where the server keeps its script, log, pid file and runtime dir."""
        return self._layout.state_dir

    @property
    def log_path(self) -> Path:
        """The daemon's log."""
        return self._layout.log

    @property
    def env(self) -> dict[str, str]:
        """PULSE_SERVER and PULSE_COOKIE: export them before ``sounddevice`` is imported."""
        return self._layout.env

    def child_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default ``os.environ``) plus :attr:`env`, for subprocesses."""
        return {**(os.environ if base is None else base), **self.env}

    def pactl(self, *args: str, timeout: float = 5.0) -> str:
        """Run ``pactl`` against this server; returns stdout, raises CalledProcessError."""
        done = subprocess.run(["pactl", *args], env=self.child_env(), capture_output=True,
                              text=True, timeout=timeout, check=True)
        return done.stdout

    def play_into_mic(self, source: Path | str | npt.NDArray[np.int16], rate: int = 16000,
                      blocking: bool = True, timeout: float = 60.0) -> subprocess.Popen[bytes]:
        """Play a sound file, or int16 samples at ``rate``, into the virtual microphone.

        A program recording from the default input (``vmic``) hears it. With ``blocking`` this
        returns once paplay has drained, i.e. the whole sound has gone through the mic; else it
        returns the running paplay at once (``.wait()`` on it).
        """
        if isinstance(source, np.ndarray):
            wav_dir = self._layout.run_dir / "wav"  # removed with the runtime dir by stop()
            wav_dir.mkdir(exist_ok=True)
            self._wav_count += 1
            path = write_wav(wav_dir / f"mic-{self._wav_count}.wav", source, rate)
        else:
            path = Path(source)
            if not path.is_file():
                raise FileNotFoundError(f"no sound file to play into the mic: {path}")
        cmd = ["paplay", f"--device={MIC_FEED}", str(path)]
        if not blocking:
            return subprocess.Popen(cmd, env=self.child_env(), stdin=subprocess.DEVNULL)
        proc = subprocess.Popen(cmd, env=self.child_env(), stdin=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        _, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"paplay {path} into {MIC_FEED} failed "
                               f"({proc.returncode}): {err.decode(errors='replace').strip()}")
        return proc

    def record_speaker(self, rate: int = 16000, latency_ms: int = 5) -> SpeakerRecorder:
        """A recorder of the virtual speaker; use as ``with va.record_speaker() as rec:``.

        Entering starts parecord and returns once audio flows; after the block,
        ``rec.recording`` holds the samples, their rate and the start time.
        """
        return SpeakerRecorder(self.child_env(), rate, latency_ms, SPEAKER_MONITOR)


# ---------------------------------------------------------------------------------------- CLI

def _exports(env: dict[str, str]) -> str:
    return "export " + " ".join(f"{k}={v}" for k, v in env.items())


def main(argv: list[str] | None = None) -> int:
    """``python tests/virtual_audio.py start|stop|env|status``."""
    default_dir = Path(os.environ.get("TMPDIR") or "/tmp") / "coach-virtual-audio"
    ap = argparse.ArgumentParser(description="A private PulseAudio server with a virtual "
                                 "speaker (vspeaker) and microphone (vmic) for the coach.")
    ap.add_argument("command", choices=["start", "stop", "env", "status"],
                    help="start prints export lines: eval \"$(... start)\"")
    ap.add_argument("--dir", type=Path, default=default_dir,
                    help=f"state dir (default: {default_dir})")
    args = ap.parse_args(argv)
    state_dir: Path = args.dir
    if args.command == "start":
        if (reason := available()) is not None:
            print(f"virtual_audio: warning: {reason}", file=sys.stderr)
        try:
            audio = VirtualAudio.start(state_dir, detach=True)
        except VirtualAudioUnavailable as e:
            print(f"virtual_audio: {e}", file=sys.stderr)
            return 1
        print(f"virtual audio up (pid {audio.pid}): speaker {SPEAKER} (record "
              f"{SPEAKER_MONITOR}), mic {MIC} (feed {MIC_FEED}); log {audio.log_path}",
              file=sys.stderr)
        print(_exports(audio.env))
        return 0
    audio_or_none = VirtualAudio.attach(state_dir)
    if args.command == "env":
        print(_exports(_Layout(state_dir.resolve()).env))
        if audio_or_none is None:
            print(f"virtual_audio: not running in {state_dir}", file=sys.stderr)
        return 0
    if audio_or_none is None:
        print(f"not running in {state_dir}", file=sys.stderr)
        return 1 if args.command == "status" else 0
    if args.command == "stop":
        audio_or_none.stop()
        print(f"stopped (pid {audio_or_none.pid})", file=sys.stderr)
        return 0
    audio = audio_or_none
    print(f"running, pid {audio.pid}, {_exports(audio.env)}")
    info = audio.pactl("info")
    print("\n".join(line for line in info.splitlines()
                    if line.startswith(("Server Version", "Default Sink", "Default Source"))))
    print(audio.pactl("list", "short", "sinks") + audio.pactl("list", "short", "sources"),
          end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
