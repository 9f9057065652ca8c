"""Options and process limits shared by the whole suite."""

from __future__ import annotations

import os
import resource

import pytest

# load.fd_setsize holds 1,100 connections: both ends live on this machine, so
# the test process needs over 2,200 descriptors, and servers inherit its limit.
NOFILE_WANTED = 4096


def pytest_configure(config: pytest.Config) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = NOFILE_WANTED if hard == resource.RLIM_INFINITY else min(NOFILE_WANTED, hard)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def require(missing: str | None) -> None:
    """Skip for a missing prerequisite; under CI a missing one is a failure."""
    if missing is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {missing}", pytrace=False)
    pytest.skip(missing)
