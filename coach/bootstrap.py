"""Set up and run the coach from a fresh checkout, using only the standard library.

    python3 -m coach.bootstrap start [COACH ARGS...]   install what the coach needs, then run it
    python3 -m coach.bootstrap test [PYTEST ARGS...]   install what the tests need, then run them

System packages (espeak-ng, PortAudio, ...) are installed with apt-get when run as root;
otherwise the exact command is printed. Python packages go into a virtual environment,
``.venv`` beside this checkout (or ``$COACH_VENV``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_PACKAGES = ["espeak-ng", "libespeak-ng1", "libportaudio2", "alsa-utils",
                    "libasound2-plugins"]
"""Debian packages the coach needs to speak and to reach sound devices."""
TEST_PACKAGES = ["pulseaudio", "pulseaudio-utils", "sox"]
"""Debian packages the tests add: a private sound server with virtual devices."""
MIN_PYTHON = (3, 11)


def _say(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def missing_packages(packages: list[str]) -> list[str]:
    """The Debian packages of ``packages`` that are not installed (all of them without dpkg)."""
    if shutil.which("dpkg-query") is None:
        return list(packages)
    missing = []
    for name in packages:
        result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name],
                                capture_output=True, text=True, check=False)
        if "install ok installed" not in result.stdout:
            missing.append(name)
    return missing


def _venv_package() -> list[str]:
    try:
        import ensurepip  # noqa: F401
    except ImportError:
        return [f"python3.{sys.version_info.minor}-venv"]
    return []


def install_system(packages: list[str]) -> None:
    """Install missing Debian packages as root, or print the command and exit 1."""
    missing = missing_packages(packages + _venv_package())
    if not missing:
        return
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if shutil.which("apt-get") is None:
        _say(f"this is not a Debian/Ubuntu system; install the equivalents of: "
             f"{' '.join(missing)} (speech: espeak-ng; audio: PortAudio)")
        return
    if os.geteuid() != 0:
        _say("some system packages are missing; install them with:\n"
             f"    sudo apt-get update && sudo {' '.join(command)}\n"
             "then run this command again.")
        sys.exit(1)
    _say(f"installing system packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*command, "-qq"], check=True, env=env)


def venv_dir() -> Path:
    """Where the virtual environment lives."""
    return Path(os.environ.get("COACH_VENV") or ROOT / ".venv")


def install_python(extras: str) -> Path:
    """Create the virtual environment if needed and install the coach into it; return its python."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    if not python.exists():
        _say(f"creating virtual environment {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    _say(f"installing Python packages into {venv}")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-e", target], check=True)
    return python


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``start`` or ``test``, then arguments passed through."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("start", "test"):
        print(__doc__)
        sys.exit(2)
    if sys.version_info < MIN_PYTHON:
        _say(f"Python {'.'.join(map(str, MIN_PYTHON))} or newer is needed; this is "
             f"{sys.version.split()[0]}")
        sys.exit(2)
    job, rest = args[0], args[1:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if job == "start":
        install_system(RUNTIME_PACKAGES)
        python = install_python("")
        coach = python.parent / "coach"
        os.execv(str(coach), [str(coach), *rest])
    install_system(RUNTIME_PACKAGES + TEST_PACKAGES)
    python = install_python("test")
    os.chdir(ROOT)
    result = subprocess.run([str(python), "-m", "pytest", *rest], check=False)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
