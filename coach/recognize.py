"""``coach recognize FILE.wav …``: each file through the same streaming path as live audio."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

from .listen import ACT, Recognizer, read_audio, recognize_samples
from .wav import AudioFileError


def recognize_files(recognizer: Recognizer, files: list[str], *, act: float = ACT,
                    out: IO[str] = sys.stdout) -> int:
    """Print one JSON line per file; return 2 if any file could not be read, else 0.
    ``act``: the confidence the dialogue acts on (a file's command is the first it would act
    on, or failing that the first it would ask about)."""
    status = 0
    for name in files:
        row: dict[str, Any] = {"file": name}
        try:
            samples = read_audio(Path(name))
        except AudioFileError as err:
            row["error"] = str(err)
            status = 2
        else:
            result = recognize_samples(recognizer, samples, act=act)
            found = result.recognition
            row.update(command=found.command if found else None,
                       text=found.text if found else "",
                       confidence=round(found.confidence, 3) if found else None,
                       decided_at_s=found.decided_at_s if found and found.heard else None,
                       process_s=round(result.process_s, 3))
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
    return status
