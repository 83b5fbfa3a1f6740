"""Fixtures for the safezone.en tests."""

from __future__ import annotations

import pytest

from tests.en.en_testdata import DATA


@pytest.fixture
def google_zip() -> bytes:
    """The real signed export produced by Google's tooling."""
    return (DATA / "google_sample_diagnosis_key_file.zip").read_bytes()
