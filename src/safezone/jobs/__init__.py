"""Durable background jobs: rows written with the change that caused them, run by the worker."""
