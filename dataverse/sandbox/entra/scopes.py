"""How the sandbox Entra reads a v2 `scope` parameter: exactly one resource's scopes (an exposed API
`api://<client-id>/<name>` or a Dataverse environment `<env-url>/user_impersonation|.default`) plus the OpenID
Connect scopes, with the AADSTS errors Entra gives for more than one resource or an unknown one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dataverse.sandbox.entra.errors import SandboxEntraError
from dataverse.sandbox.entra.registry import SandboxAppRegistry

OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
DATAVERSE_SCOPE = "user_impersonation"


@dataclass(frozen=True)
class ScopeRequest:
    """A parsed scope parameter: the one resource, the permission names on it, and the OIDC scopes asked for."""

    resource: str  # api://<client-id> or a Dataverse environment URL (no trailing slash)
    kind: Literal["api", "dataverse"]
    permissions: tuple[str, ...]  # as they appear in the token's `scp`
    oidc: frozenset[str]

    @property
    def scope_strings(self) -> tuple[str, ...]:
        """The resource scopes in their full form, e.g. ("api://<id>/MCP.Access",)."""
        return tuple(f"{self.resource}/{name}" for name in self.permissions)

    @property
    def response_scope(self) -> str:
        return " ".join([*self.scope_strings, *sorted(self.oidc)])


def _split_resource_scope(scope: str) -> tuple[str, str]:
    resource, _, name = scope.rstrip("/").rpartition("/")
    if not resource or not name:
        raise SandboxEntraError("invalid_scope", 70011, f"The provided value for scope {scope} is not valid.")
    return resource.rstrip("/"), name


def parse_scope(scope: str | None, *, registry: SandboxAppRegistry, tenant_name: str) -> ScopeRequest:
    """Parse and check a scope parameter against the registry; raises SandboxEntraError as Entra would."""
    if not scope or not scope.strip():
        raise SandboxEntraError(
            "invalid_scope", 28003, "Provided value for the input parameter scope cannot be empty."
        )
    items = scope.split()
    oidc = frozenset(item for item in items if item in OIDC_SCOPES)
    resource_scopes = [_split_resource_scope(item) for item in items if item not in OIDC_SCOPES]
    resources = {resource for resource, _ in resource_scopes}
    if len(resources) > 1:
        raise SandboxEntraError(
            "invalid_scope", 28000,
            "Provided value for the input parameter scope is not valid because it contains more than one resource. "
            f"Scope {scope} is not valid.",
        )
    if not resources:
        raise SandboxEntraError(
            "invalid_scope", 70011,
            f"The provided value for scope {scope} is not valid. The sandbox issues tokens for one exposed API or one "
            "Dataverse environment; name its scope.",
        )
    (resource,) = resources
    names = tuple(dict.fromkeys(name for _, name in resource_scopes))
    try:
        app = registry.find_app_by_api_resource(resource)
    except KeyError:
        app = None
    if app is not None:
        allowed = {app.scope_name}
        permissions = tuple(app.scope_name if name == ".default" else name for name in names)
        kind: Literal["api", "dataverse"] = "api"
        resource = app.application_id_uri
    elif resource.startswith(("https://", "http://")) and (
        not registry.dataverse_resources or resource in registry.dataverse_resources
    ):
        allowed = {DATAVERSE_SCOPE}
        permissions = tuple(DATAVERSE_SCOPE if name == ".default" else name for name in names)
        kind = "dataverse"
    else:
        raise SandboxEntraError(
            "invalid_resource", 500011,
            f"The resource principal named {resource} was not found in the tenant named {tenant_name}. This can "
            "happen if the application has not been installed by the administrator of the tenant or consented to "
            "by any user in the tenant.",
        )
    unknown = [name for name in permissions if name not in allowed]
    if unknown:
        raise SandboxEntraError(
            "invalid_scope", 70011,
            f"The provided value for scope {' '.join(unknown)} is not valid. Resource {resource} exposes "
            f"{' '.join(sorted(allowed))}.",
        )
    return ScopeRequest(resource=resource, kind=kind, permissions=tuple(dict.fromkeys(permissions)), oidc=oidc)
