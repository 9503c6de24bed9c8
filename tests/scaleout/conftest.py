"""The scale-out rehearsal's cluster: one per module (starting it takes a few seconds), shared by its tests, each of
which leaves every instance running (a test that kills one restarts it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .cluster import Cluster, running_cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with running_cluster(instances=3) as running:
        yield running
        for index, instance in enumerate(running.instances):
            if not instance.alive:
                running.restart(index)
