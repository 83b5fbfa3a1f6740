"""Broadcast audio: espeak-ng's Vietnamese voice, normalised and encoded by sox.

The voice is synthetic (docs/campaign-materials.md); a commune can upload a recorded reading
instead (:func:`inspect` checks it). Output is MP3 (44.1 kHz mono, what commune radio mixers
and USB players take) or WAV.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from safezone.errors import FieldError, InvalidInput

VOICE = "vi"
WORDS_PER_MINUTE = 140  # slower than the default 175: loudspeakers echo down the street
SAMPLE_RATE = 44100
FORMATS: dict[str, str] = {"mp3": "audio/mpeg", "wav": "audio/wav"}
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
TIMEOUT_SECONDS = 120


class AudioToolMissing(RuntimeError):
    """espeak-ng or sox is not installed (apt-get install espeak-ng sox libsox-fmt-mp3)."""


@dataclass(frozen=True)
class Audio:
    """An encoded sound file."""

    content: bytes
    mime: str
    duration_seconds: float

    @property
    def extension(self) -> str:
        """The file name extension for ``mime``."""
        return next(ext for ext, mime in FORMATS.items() if mime == self.mime)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise AudioToolMissing(f"{name} is not installed (apt-get install espeak-ng sox)")
    return path


def speakable(text: str) -> str:
    """``text`` as the voice should read it: "34%" is said "34 phần trăm"."""
    return re.sub(r"\s*%", " phần trăm", text)


def _run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, check=True, capture_output=True, timeout=TIMEOUT_SECONDS)  # noqa: S603 - fixed tools, no shell


def duration(path: Path) -> float:
    """Length of the sound file at ``path`` in seconds (soxi)."""
    out = _run(_tool("soxi"), "-D", str(path)).stdout
    return float(out.decode().strip())


def synthesize(text: str, *, fmt: str = "mp3") -> Audio:
    """``text`` read by espeak-ng's Vietnamese voice, with half a second of silence around it,
    normalised to -1 dBFS and encoded as ``fmt`` (mp3 or wav)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}")
    espeak, sox = _tool("espeak-ng"), _tool("sox")
    with tempfile.TemporaryDirectory(prefix="safezone-audio-") as folder:
        raw, out = Path(folder) / "voice.wav", Path(folder) / f"broadcast.{fmt}"
        text_file = Path(folder) / "script.txt"
        text_file.write_text(speakable(text), encoding="utf-8")
        _run(espeak, "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-f", str(text_file), "-w", str(raw))
        _run(
            sox,
            str(raw),
            "-r",
            str(SAMPLE_RATE),
            "-c",
            "1",
            str(out),
            "pad",
            "0.5",
            "0.5",
            "norm",
            "-1",
        )
        return Audio(out.read_bytes(), FORMATS[fmt], duration(out))


def inspect(content: bytes, *, field: str = "audio") -> Audio:
    """An uploaded recording checked by sox (MP3 or WAV, at most 20 MB, 1 s to 15 min)."""

    def refuse(code: str, vi: str, en: str) -> InvalidInput:
        return InvalidInput(FieldError(field, code, vi, en))

    if len(content) > MAX_UPLOAD_BYTES:
        raise refuse("too_large", "Tệp ghi âm lớn hơn 20 MB", "The recording is over 20 MB")
    if content[:4] == b"RIFF" and content[8:12] == b"WAVE":
        fmt = "wav"
    elif content[:3] == b"ID3" or content[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        fmt = "mp3"
    else:
        raise refuse(
            "format", "Tệp ghi âm phải là MP3 hoặc WAV", "The recording must be MP3 or WAV"
        )
    with tempfile.TemporaryDirectory(prefix="safezone-audio-") as folder:
        path = Path(folder) / f"upload.{fmt}"
        path.write_bytes(content)
        try:
            seconds = duration(path)
        except (subprocess.CalledProcessError, ValueError) as error:
            raise refuse(
                "unreadable", "Không đọc được tệp ghi âm", "Unreadable recording"
            ) from error
    if not 1 <= seconds <= 900:
        raise refuse("duration", "Bản ghi phải dài 1 giây đến 15 phút", "1 s to 15 min long")
    return Audio(content, FORMATS[fmt], seconds)


@dataclass(frozen=True)
class Stats:
    """What ``sox -n stats`` says of a file (levels in dBFS)."""

    rms_db: float
    peak_db: float
    duration_seconds: float


def stats(content: bytes, fmt: str) -> Stats:
    """Loudness figures of ``content`` (to check a file is not silent)."""
    with tempfile.TemporaryDirectory(prefix="safezone-audio-") as folder:
        path = Path(folder) / f"check.{fmt}"
        path.write_bytes(content)
        report = _run(_tool("sox"), str(path), "-n", "stats").stderr.decode()
        seconds = duration(path)

    def value(label: str) -> float:
        match = re.search(rf"^{label}\s+(-?[\d.]+|-inf)", report, re.MULTILINE)
        if match is None:
            raise ValueError(f"sox stats has no {label!r}")
        return float(match.group(1))

    return Stats(value("RMS lev dB"), value("Pk lev dB"), seconds)
