"""Fixtures the command line's tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.service import Worker


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Every `lashtui worker` a test starts (it appends them), killed after it if it is
    still there."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()
