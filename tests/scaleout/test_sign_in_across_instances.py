"""One user signs in through the load balancer with the official MCP client: discovery, registration, consent, the
callback and the code exchange each land on whichever instance is next, and tool calls are served by all of them.
Nothing of a sign-in is kept in an instance's memory, so no step depends on which instance served the one before."""

from __future__ import annotations

import itertools

import httpx

from dataverse.sandbox.users import ALICE

from .calls import ok, sign_in_with_official_client
from .cluster import Cluster

SIGN_IN_STEPS = ("/register", "/authorize", "/consent", "/oauth/callback", "/token")


async def test_a_sign_in_crosses_instances_and_every_instance_serves_its_tools(cluster: Cluster):
    start = len(cluster.proxy.log)
    signed_in, result = await sign_in_with_official_client(cluster)

    assert ALICE.systemuser_id in result.content[0].text
    steps = [entry for entry in cluster.proxy.log[start:] if entry.path in SIGN_IN_STEPS]
    assert [entry.path for entry in steps] == ["/register", "/authorize", "/consent", "/consent", "/oauth/callback",
                                               "/token"], steps
    assert {entry.backend for entry in steps} == {0, 1, 2}
    assert all(this.backend != after.backend for this, after in itertools.pairwise(steps)), steps

    served_from = len(cluster.proxy.log)
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(3):
            me = await ok(http, cluster, signed_in.bearer, "whoami", {})
            assert me["user_id"] == ALICE.systemuser_id
    assert sorted(cluster.proxy.served_by(since=served_from, path_prefix="/mcp")) == [0, 1, 2]
