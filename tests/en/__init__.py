"""Tests of the exposure-notification protocol library safezone.en."""
