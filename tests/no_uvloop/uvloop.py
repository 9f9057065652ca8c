"""Stands in for a missing uvloop (tests/test_cli.py puts this folder first on
the path): importing it fails the way importing an absent package does."""

raise ModuleNotFoundError("No module named 'uvloop'", name="uvloop")
