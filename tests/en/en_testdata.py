"""Paths and data shared by the safezone.en tests (a uniquely named helper module)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


def load_json(name: str) -> Any:
    """Load a JSON data file from tests/en/data."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


VECTORS: dict[str, Any] = load_json("gaen_v1_2_test_vectors.json")
GOOGLE_PUBLIC_KEY_B64 = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE49JY6kekDgxj3Crm4y6kEHdfoKQFSNDM4mV9cgDb+e5n"
    "OAw0GeRoRThCu9/wX5wDT2QloFoOjl2pGZHI0f3C3w=="
)
