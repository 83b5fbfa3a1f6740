"""``python -m safezone`` runs the CLI."""

from safezone.cli import main

main()
