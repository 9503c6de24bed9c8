"""The sandbox server on its own (`python -m dataverse sandbox`) and the settings that point an app instance at it:
it answers as its public URL, lets only the given app deployments sign users in, and an instance's settings fill in
the sandbox's Dataverse URL and app registration only where they were left unset."""

from __future__ import annotations

import httpx

from dataverse.sandbox.entra import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from dataverse.sandbox.serve.instance import entra_client_for_sandbox_server, settings_for_sandbox_server
from dataverse.sandbox.serve.server import create_sandbox_server
from dataverse.sandbox.users import SANDBOX_TENANT_ID
from dataverse.settings import Settings

PUBLIC = "http://127.0.0.1:7400"
APP = "http://127.0.0.1:7401"


async def test_the_sandbox_server_answers_as_its_public_url_for_the_apps_it_was_given():
    server = create_sandbox_server(PUBLIC, app_urls=[APP])
    authorize = f"{PUBLIC}/sandbox/entra/{SANDBOX_TENANT_ID}/oauth2/v2.0/authorize"
    common = {"client_id": SANDBOX_CLIENT_ID, "response_type": "code", "scope": f"api://{SANDBOX_CLIENT_ID}/MCP.Access",
              "code_challenge": "x" * 43, "code_challenge_method": "S256", "state": "s"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app), base_url=PUBLIC) as http:
        index = (await http.get("/")).json()
        configuration = (await http.get(f"/sandbox/entra/{SANDBOX_TENANT_ID}/v2.0/.well-known/openid-configuration"))
        registered = await http.get(authorize, params={**common, "redirect_uri": f"{APP}/oauth/callback"})
        stranger = await http.get(authorize, params={**common, "redirect_uri": "http://127.0.0.1:9/oauth/callback"})

    assert index["dataverse_url"] == f"{PUBLIC}/sandbox/dataverse" == server.dataverse_url
    assert configuration.json()["authorization_endpoint"] == authorize
    assert registered.status_code == 200 and "Sign in" in registered.text
    assert stranger.status_code == 400


def test_an_instance_takes_the_sandbox_defaults_only_for_what_is_unset():
    filled = settings_for_sandbox_server(Settings(sandbox_server_url=PUBLIC + "/"))
    assert filled.dataverse_urls == [f"{PUBLIC}/sandbox/dataverse"]
    assert (filled.entra_tenant_id, filled.entra_client_id, filled.entra_client_secret) == (
        SANDBOX_TENANT_ID, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)

    kept = settings_for_sandbox_server(Settings(sandbox_server_url=PUBLIC, dataverse_urls="https://elsewhere.example",
                                                entra_client_secret="own-secret"))
    assert kept.dataverse_urls == ["https://elsewhere.example"] and kept.entra_client_secret == "own-secret"


def test_an_instance_keeps_the_real_authority_and_sends_browsers_to_the_sandbox_sign_in():
    entra = entra_client_for_sandbox_server(settings_for_sandbox_server(Settings(sandbox_server_url=PUBLIC)))
    assert entra.authority == f"https://login.microsoftonline.com/{SANDBOX_TENANT_ID}"
    assert entra.authorize_endpoint == f"{PUBLIC}/sandbox/entra/{SANDBOX_TENANT_ID}/oauth2/v2.0/authorize"
