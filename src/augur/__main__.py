"""``python -m augur`` runs the command line."""

from augur.cli.app import run

run()
