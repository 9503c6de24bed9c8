"""Security-relevant choices in infra/ that a careless edit could undo: identity instead of keys and secrets, the
Entra registration's trust and permissions, and the URLs azd prints for the admin. No Bicep compiler is available
here, so these read the template text; each assertion names one property whose loss would weaken the deployment.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"


def _read(relative: str) -> str:
    return (INFRA / relative).read_text()


def _declared_resource(text: str, symbol: str) -> str:
    """The body of `resource <symbol> '...' = { ... }` (up to the closing brace at column 0)."""
    match = re.search(rf"^resource {symbol} '[^']+' = \{{\n(.*?)^\}}", text, re.S | re.M)
    assert match, f"resource {symbol} not found"
    return match.group(1)


def test_no_bicep_file_holds_a_password_credential_or_an_account_key():
    for path in INFRA.rglob("*.bicep"):
        text = path.read_text()
        assert "passwordCredentials" not in text, path
        assert "listKeys(" not in text, path
        assert "AccountKey=" not in text, path


def test_storage_account_refuses_shared_key_access():
    account = _declared_resource(_read("app/storage.bicep"), "account")
    assert "allowSharedKeyAccess: false" in account
    assert "allowBlobPublicAccess: false" in account


def test_key_vault_uses_rbac_and_the_site_resolves_references_with_the_user_assigned_identity():
    assert "enableRbacAuthorization: true" in _declared_resource(_read("app/keyvault.bicep"), "vault")
    assert "keyVaultReferenceIdentity: identityId" in _declared_resource(_read("app/function-app.bicep"), "site")


def test_identity_holds_exactly_the_data_roles_the_host_durable_functions_and_the_app_need():
    rbac = _read("app/rbac.bicep")
    for role_id in (
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",  # Storage Blob Data Owner
        "974c5e8b-45b9-4653-ba55-5f855dd0fb88",  # Storage Queue Data Contributor
        "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",  # Storage Table Data Contributor
        "4633458b-17de-408a-b874-0445c86b69e6",  # Key Vault Secrets User
    ):
        assert role_id in rbac
    assert "principalType: 'User'" not in rbac  # no human is granted data access by the template


def test_function_app_is_flex_consumption_python_311_with_identity_based_deployment():
    text = _read("app/function-app.bicep")
    assert "sku: { tier: 'FlexConsumption', name: 'FC1' }" in text
    assert "runtime: { name: 'python', version: '3.11' }" in text
    assert "type: 'UserAssignedIdentity'" in text
    assert "instanceCount: alwaysReadyInstanceCount" in text
    assert "httpsOnly: true" in text


def test_app_registration_identifier_uri_is_api_app_id_and_exposes_the_mcp_scope():
    text = _read("app/entra-app-config.bicep")
    assert "var identifierUri = 'api://${appId}'" in text
    assert "identifierUris: [identifierUri]" in text
    assert "value: mcpScope" in text and "type: 'User'" in text


def test_app_registration_requests_dataverse_user_impersonation_for_on_behalf_of():
    text = _read("app/entra-app-config.bicep")
    assert "var dynamicsCrmAppId = '00000007-0000-0000-c000-000000000000'" in text
    assert "var dynamicsUserImpersonationId = '78ce3f0f-a1ce-49c2-8cde-64b5c0896db4'" in text
    assert "resourceAccess: [{ id: dynamicsUserImpersonationId, type: 'Scope' }]" in text


def test_federated_credential_trusts_only_our_managed_identity_for_token_exchange():
    credential = _declared_resource(_read("app/entra-app-config.bicep"), "managedIdentityCredential")
    assert "issuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'" in credential
    assert "subject: managedIdentityPrincipalId" in credential
    assert "audiences: ['api://AzureADTokenExchange']" in credential


def test_entra_redirect_uri_is_the_oauth_callback_on_the_same_public_url_the_app_advertises():
    main = _read("main.bicep")
    assert "redirectUri: '${publicBaseUrl}/oauth/callback'" in main
    assert "  PUBLIC_BASE_URL: publicBaseUrl\n" in main


def test_azd_prints_the_mcp_url_and_the_admin_consent_url():
    main = _read("main.bicep")
    assert "output MCP_URL string = '${publicBaseUrl}/mcp'" in main
    assert (
        "output ADMIN_CONSENT_URL string = "
        "'${entraAuthorityHost}/${tenantId}/adminconsent?client_id=${entraApp.outputs.appId}'"
    ) in main


def test_azure_yaml_deploys_the_repository_root_as_the_python_function_service_api():
    text = (ROOT / "azure.yaml").read_text()
    assert re.search(r"^services:\n  api:\n(    .+\n)+", text, re.M)
    service = re.search(r"^  api:\n((?:    .+\n)+)", text, re.M).group(1)
    assert "    project: .\n" in service
    assert "    language: python\n" in service
    assert "    host: function\n" in service
    assert re.search(r"^  path: infra$", text, re.M)


def test_storage_pre_creates_every_oauth_table_the_code_uses():
    from dataverse.oauth.models import COLLECTIONS

    listed = re.search(r"param appTableNames array = \[\n(.*?)\n\]", _read("app/storage.bicep"), re.S).group(1)
    assert set(COLLECTIONS.values()) <= set(re.findall(r"'(\w+)'", listed))
