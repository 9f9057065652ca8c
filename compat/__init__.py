"""Compatibility shims for moving Python 2 socket code to Python 3."""
