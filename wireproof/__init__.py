"""Prove a Python 3 port answers every client as its Python 2 original did.

``python -m wireproof check`` runs the contract's wire-level cases against a
server already running.  The engine's parts: :mod:`wireproof.session` (a
case's run against one server), :mod:`wireproof.cases` and
:mod:`wireproof.client_cases` (the cases), :mod:`wireproof.events` (reading
a server's event lines), :mod:`wireproof.ledger` (where the originals
deviate), :mod:`wireproof.verdicts` and :mod:`wireproof.report`.
"""
