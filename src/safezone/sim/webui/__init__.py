"""The simulator's web face: the ``/sim`` pages and the ``/api/v1/sim`` JSON API.

Thin routes only: requests are checked and enqueued by :mod:`safezone.sim.tasks`, results read
through :mod:`safezone.sim.service`. This subpackage is the one part of ``safezone.sim`` allowed
to import the web shell (import-linter contract in ``pyproject.toml``); nothing here imports the
engine, so the app starts without the ``sim`` extra.
"""
