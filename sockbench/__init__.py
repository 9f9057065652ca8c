"""The benchmark: every implementation of every conversation, timed side by side.

``python -m sockbench`` starts the servers (the legacy originals under Python 2.7
where one is found, the ports and the two new servers), drives them from a
load generator on loopback, and alternates them round by round (A B A B ...)
so that a noisy machine slows every implementation alike and the ratios hold.
See ``python -m sockbench --help`` and ``docs/performance.md``.
"""
