"""An instance dies (SIGKILL, no shutdown) while calls keep coming. The load balancer takes it out of the rotation;
what it wrote lives on in Table Storage and serves the survivors: the proposals it stored are confirmed elsewhere, the
cursor it signed pages on elsewhere (every instance derives the cursor key from the shared TOKEN_ENCRYPTION_KEY), the
grant refreshes elsewhere. Nothing is lost, and nothing is done twice: each record is deleted exactly once."""

from __future__ import annotations

import asyncio

import httpx

from .calls import call_tool, ok, refresh, sign_in_with_official_client, tool_result
from .cluster import Cluster

VICTIM = 1
READERS = 4
PAGE = {"table": "account", "select": ["name"], "orderby": "name asc", "top": 5}


async def _read_until(stop: asyncio.Event, http: httpx.AsyncClient, cluster: Cluster, bearer: str) -> tuple[int, int]:
    """Reads the first page again and again until told to stop; (answers, 502s). A read that died with its instance
    is simply sent again."""
    answered = failed = 0
    while not stop.is_set():
        response = await call_tool(http, cluster, bearer, "query_records", PAGE)
        if response.status_code == 502:
            failed += 1
            continue
        is_error, payload = tool_result(response)
        assert not is_error, payload
        answered += 1
    return answered, failed


async def test_an_instance_killed_mid_run_loses_nothing_and_does_nothing_twice(cluster: Cluster):
    signed_in, _ = await sign_in_with_official_client(cluster)
    bearer = signed_in.bearer
    log = cluster.proxy.log
    async with httpx.AsyncClient(timeout=30) as http:
        records = [(await ok(http, cluster, bearer, "create_record",
                             {"table": "account", "values": {"name": f"Scale-out survivor {n}"}}))["id"]
                   for n in range(3)]
        proposed_from = len(log)
        tokens = {record_id: (await ok(http, cluster, bearer, "delete_record",
                                       {"table": "account", "id": record_id}))["confirmation_token"]
                  for record_id in records}
        assert VICTIM in cluster.proxy.served_by(since=proposed_from, path_prefix="/mcp")  # it stored a proposal
        first_page: dict[str, object] = {}
        for _ in range(3):
            mark = len(log)
            page = await ok(http, cluster, bearer, "query_records", PAGE)
            if log[mark].backend == VICTIM:
                first_page = page
                break
        assert first_page.get("cursor"), "the victim signed no cursor"

        stop = asyncio.Event()
        readers = [asyncio.create_task(_read_until(stop, http, cluster, bearer)) for _ in range(READERS)]
        await asyncio.sleep(0.5)
        killed_at = len(log)
        cluster.instances[VICTIM].kill()
        await asyncio.sleep(0.5)
        stop.set()
        reads = await asyncio.gather(*readers)
        assert VICTIM in cluster.proxy.down
        assert all(answered > 0 for answered, _ in reads), reads

        second_page = await ok(http, cluster, bearer, "query_records", {"cursor": first_page["cursor"]})
        first_names = [row["name"] for row in first_page["rows"]]  # type: ignore[attr-defined]
        second_names = [row["name"] for row in second_page["rows"]]
        assert second_names and not set(first_names) & set(second_names)

        for token in tokens.values():
            confirmation = await ok(http, cluster, bearer, "confirm_delete", {"confirmation_token": token})
            assert confirmation["deleted"] is True, confirmation
            again = tool_result(await call_tool(http, cluster, bearer, "confirm_delete", {"confirmation_token": token}))
            assert again[0] and "already been used" in str(again[1])

        renewed = await refresh(http, cluster, signed_in, str(signed_in.tokens.refresh_token))
        assert renewed.status_code == 200, renewed.text
        await ok(http, cluster, renewed.json()["access_token"], "whoami", {})
        # At most one request per reader was in flight to the victim when it died: each either finished just before
        # the kill (its 200 is logged when the proxy thread gets to it) or came back as the proxy's 502, never a hang
        # or another error; after that the proxy routes nothing more to it.
        routed_to_victim = [entry for entry in log[killed_at:] if entry.backend == VICTIM]
        assert len(routed_to_victim) <= READERS, routed_to_victim
        assert all(entry.status in (200, 502) for entry in routed_to_victim), routed_to_victim

    for record_id in records:
        assert cluster.sandbox_requests(method="DELETE", path=f"/api/data/v9.2/accounts({record_id})") == 1
    cluster.restart(VICTIM)
