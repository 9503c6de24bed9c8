"""The sandbox directory: the three people who exist in both the sandbox Entra ID and the sandbox Dataverse.

alice and bob are sales reps in one team; carol is their sales manager. Ids are fixed so tests and docs can name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SANDBOX_TENANT_ID = "8c3d5b2e-0000-4000-8000-00000000a001"
SANDBOX_ORGANIZATION_ID = "8c3d5b2e-0000-4000-8000-00000000a002"
SANDBOX_BUSINESS_UNIT_ID = "8c3d5b2e-0000-4000-8000-00000000a003"
SANDBOX_TEAM_ID = "8c3d5b2e-0000-4000-8000-00000000a004"
SANDBOX_PASSWORD = "sandbox"


@dataclass(frozen=True)
class SandboxUser:
    username: str  # what people type on the sandbox sign-in page and in login_hint
    full_name: str
    upn: str
    object_id: str  # Entra `oid`; the sandbox Dataverse maps it to the systemuser below
    systemuser_id: str  # Dataverse systemuserid (deliberately different from the oid, as in real Dataverse)
    role: Literal["rep", "manager"]
    timezone_code: int  # Dataverse usersettings.timezonecode (Windows zone index)
    iana_timezone: str


ALICE = SandboxUser(
    "alice", "Alice Anders", "alice@sandbox.example", "a11ce000-0000-4000-8000-000000000001",
    "5e000000-0000-4000-8000-0000000a11ce", "rep", 35, "America/New_York",
)
BOB = SandboxUser(
    "bob", "Bob Brown", "bob@sandbox.example", "b0b00000-0000-4000-8000-000000000002",
    "5e000000-0000-4000-8000-000000000b0b", "rep", 85, "Europe/London",
)
CAROL = SandboxUser(
    "carol", "Carol Chen", "carol@sandbox.example", "ca501000-0000-4000-8000-000000000003",
    "5e000000-0000-4000-8000-00000000ca50", "manager", 4, "America/Los_Angeles",
)

SANDBOX_USERS: tuple[SandboxUser, ...] = (ALICE, BOB, CAROL)


def user_by_username(username: str) -> SandboxUser:
    """The sandbox user with this username; KeyError if there is none."""
    for user in SANDBOX_USERS:
        if user.username == username.strip().lower():
            return user
    raise KeyError(username)


def user_by_object_id(object_id: str) -> SandboxUser:
    """The sandbox user with this Entra object id; KeyError if there is none."""
    for user in SANDBOX_USERS:
        if user.object_id == object_id:
            return user
    raise KeyError(object_id)
