"""Cursors are opaque, signed, and bound to one user and one environment: anything else is refused clearly."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from dataverse.settings import Settings
from dataverse.tools.kit.cursor import CursorCodec, FetchXmlCursor, ODataCursor, StateCursor, cursor_key_from_settings
from dataverse.tools.kit.errors import InvalidCursorError

ENV = "https://contoso.crm.dynamics.com"
ALICE = "a11ce000-0000-4000-8000-000000000001"
BOB = "b0b00000-0000-4000-8000-000000000002"
NEXT_LINK = (ENV + "/api/data/v9.2/opportunities?$select=name&$skiptoken=%3Ccookie%20pagenumber=%222%22%20"
             "pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e%22%20/%3E")


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def codec(clock: FakeClock) -> CursorCodec:
    return CursorCodec(b"k" * 32, clock=clock)


def test_odata_cursor_round_trips_and_hides_the_next_link(codec: CursorCodec):
    cursor = ODataCursor(table="opportunity", next_link=NEXT_LINK, page_size=25)
    token = codec.encode(cursor, user=ALICE, environment=ENV)
    assert "crm.dynamics.com" not in token and "skiptoken" not in token
    assert codec.decode(token, user=ALICE, environment=ENV) == cursor


def test_fetchxml_cursor_round_trips(codec: CursorCodec):
    cursor = FetchXmlCursor(entity_set="accounts", fetch_xml="<fetch><entity name='account'/></fetch>", page=3,
                            page_size=50, paging_cookie='<cookie page="2"><accountid last="{A}"/></cookie>')
    token = codec.encode(cursor, user=ALICE, environment=ENV)
    assert codec.decode(token, user=ALICE, environment=ENV) == cursor


def test_another_users_cursor_is_refused(codec: CursorCodec):
    token = codec.encode(ODataCursor("account", NEXT_LINK, 10), user=ALICE, environment=ENV)
    with pytest.raises(InvalidCursorError, match="different user"):
        codec.decode(token, user=BOB, environment=ENV)


def test_a_cursor_from_another_environment_is_refused(codec: CursorCodec):
    token = codec.encode(ODataCursor("account", NEXT_LINK, 10), user=ALICE, environment=ENV)
    with pytest.raises(InvalidCursorError, match="different Dataverse environment"):
        codec.decode(token, user=ALICE, environment="https://fabrikam.crm.dynamics.com")


def test_a_forged_cursor_pointing_elsewhere_is_refused(codec: CursorCodec):
    """A model that decodes a cursor, swaps the next link for another URL and re-encodes it gets nowhere."""
    token = codec.encode(ODataCursor("account", NEXT_LINK, 10), user=ALICE, environment=ENV)
    body_text, tag_text = token.split(".")
    payload = json.loads(zlib.decompress(base64.urlsafe_b64decode(body_text + "=" * (-len(body_text) % 4))))
    payload["n"] = "https://attacker.example/api/data/v9.2/accounts"
    forged_body = base64.urlsafe_b64encode(zlib.compress(json.dumps(payload).encode())).rstrip(b"=").decode()
    with pytest.raises(InvalidCursorError, match="altered"):
        codec.decode(f"{forged_body}.{tag_text}", user=ALICE, environment=ENV)


def test_a_cursor_signed_with_another_key_is_refused(codec: CursorCodec, clock: FakeClock):
    other = CursorCodec(b"x" * 32, clock=clock)
    token = other.encode(ODataCursor("account", NEXT_LINK, 10), user=ALICE, environment=ENV)
    with pytest.raises(InvalidCursorError, match="altered"):
        codec.decode(token, user=ALICE, environment=ENV)


@pytest.mark.parametrize("garbage", ["", "not-a-cursor", "abc.def", "%%%.***", "a" * 500])
def test_garbage_is_refused_with_a_recovery_hint(codec: CursorCodec, garbage: str):
    with pytest.raises(InvalidCursorError) as raised:
        codec.decode(garbage, user=ALICE, environment=ENV)
    assert "without `cursor`" in str(raised.value)


def test_a_flipped_character_is_refused(codec: CursorCodec):
    token = codec.encode(ODataCursor("account", NEXT_LINK, 10), user=ALICE, environment=ENV)
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    with pytest.raises(InvalidCursorError):
        codec.decode(flipped, user=ALICE, environment=ENV)


def test_cursors_expire(codec: CursorCodec, clock: FakeClock):
    token = codec.encode(ODataCursor("account", NEXT_LINK, 10), user=ALICE, environment=ENV)
    clock.now += 25 * 3600
    with pytest.raises(InvalidCursorError, match="expired"):
        codec.decode(token, user=ALICE, environment=ENV)


def test_settings_key_is_shared_by_instances_and_depends_on_the_secret():
    settings = Settings(token_encryption_key="c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk=")
    assert cursor_key_from_settings(settings) == cursor_key_from_settings(settings.model_copy())
    assert cursor_key_from_settings(settings) != cursor_key_from_settings(Settings(token_encryption_key="b3RoZXI="))
    assert len(cursor_key_from_settings(Settings())) == 32


def test_a_tool_state_cursor_round_trips_and_names_its_tool():
    codec = CursorCodec(b"k" * 32)
    token = codec.encode(StateCursor(tool="get_timeline", state={"before": "2026-03-01T10:00:00Z", "seen": ["a"]}),
                         user="alice", environment="https://org")
    decoded = codec.decode(token, user="alice", environment="https://org")
    assert decoded == StateCursor(tool="get_timeline", state={"before": "2026-03-01T10:00:00Z", "seen": ["a"]})
