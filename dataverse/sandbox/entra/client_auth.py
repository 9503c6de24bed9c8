"""Confidential-client authentication at the sandbox token endpoint, the three ways Entra accepts:

- a client secret (form field `client_secret` or HTTP Basic, as MSAL sends it);
- a federated-credential client assertion: a JWT signed by the sandbox key whose iss/sub/aud match the app's
  FederatedCredential (in Azure: the managed identity's token for api://AzureADTokenExchange);
- a certificate client assertion: a JWT with an `x5t` header naming a registered certificate, iss = sub = client id,
  aud = the token endpoint.
"""

from __future__ import annotations

import base64
import hmac
from urllib.parse import unquote_plus

import jwt
from starlette.requests import Request

from dataverse.sandbox.entra.context import SandboxEntraContext
from dataverse.sandbox.entra.errors import SandboxEntraError
from dataverse.sandbox.entra.registry import SandboxApp
from dataverse.sandbox.identity import process_signing_key

JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _invalid_client(code: int, message: str) -> SandboxEntraError:
    return SandboxEntraError("invalid_client", code, message, status_code=401)


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except ValueError:
        raise _invalid_client(7000215, "Invalid client secret provided.") from None
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


def _verify_certificate_assertion(app: SandboxApp, assertion: str, context: SandboxEntraContext) -> None:
    header = jwt.get_unverified_header(assertion)
    thumbprint = str(header.get("x5t#S256") or header.get("x5t") or "").rstrip("=")
    key = app.certificate_thumbprints.get(thumbprint)
    if key is None:
        raise _invalid_client(700027, f"Client assertion contains an invalid signature. [Key was not found., "
                                      f"Thumbprint of key used by client: '{thumbprint}']")
    try:
        jwt.decode(assertion, key, algorithms=["RS256", "PS256"], audience=context.token_endpoint,
                   issuer=app.client_id, options={"require": ["exp", "aud", "iss", "sub"]}, leeway=5)
    except jwt.ExpiredSignatureError:
        raise _invalid_client(700024, "Client assertion is not within its valid time range.") from None
    except jwt.InvalidTokenError as error:
        raise _invalid_client(700027, f"Client assertion failed signature validation. ({error})") from None
    if jwt.decode(assertion, options={"verify_signature": False}).get("sub") != app.client_id:
        raise _invalid_client(700027, "Client assertion subject must be the client id.")


def _verify_federated_assertion(app: SandboxApp, assertion: str) -> None:
    credential = app.federated_credential
    if credential is None:
        raise _invalid_client(700027, "Client assertion failed signature validation: the application has no "
                                      "federated identity credential.")
    try:
        claims = process_signing_key().verify(assertion, audience=credential.audience)
    except jwt.ExpiredSignatureError:
        raise _invalid_client(700024, "Client assertion is not within its valid time range.") from None
    except jwt.InvalidAudienceError:
        raise _invalid_client(700212, f"No matching federated identity record found for presented assertion "
                                      f"audience '{credential.audience}'.") from None
    except jwt.InvalidTokenError as error:
        raise _invalid_client(700027, f"Client assertion failed signature validation. ({error})") from None
    if claims.get("iss") != credential.issuer:
        raise _invalid_client(700211, f"No matching federated identity record found for presented assertion "
                                      f"issuer '{claims.get('iss')}'.")
    if claims.get("sub") != credential.subject:
        raise _invalid_client(700213, f"No matching federated identity record found for presented assertion "
                                      f"subject '{claims.get('sub')}'.")


def authenticate_client(request: Request, form: dict[str, str], context: SandboxEntraContext) -> SandboxApp:
    """The app the request authenticates as; raises SandboxEntraError (invalid_client, 401) otherwise."""
    basic = _basic_credentials(request)
    client_id = basic[0] if basic else form.get("client_id", "")
    if not client_id:
        raise _invalid_client(900144, "The request body must contain the following parameter: 'client_id'.")
    try:
        app = context.registry.get_app(client_id)
    except KeyError:
        raise _invalid_client(700016, f"Application with identifier '{client_id}' was not found in the directory "
                                      f"'{context.tenant_id}'.") from None
    if form.get("client_assertion"):
        if form.get("client_assertion_type") != JWT_BEARER_ASSERTION_TYPE:
            raise _invalid_client(7000219, "'client_assertion_type' must be " + JWT_BEARER_ASSERTION_TYPE)
        assertion = form["client_assertion"]
        try:
            header = jwt.get_unverified_header(assertion)
            has_thumbprint = "x5t" in header or "x5t#S256" in header
        except jwt.InvalidTokenError:
            raise _invalid_client(700027, "Client assertion failed signature validation.") from None
        if has_thumbprint:
            _verify_certificate_assertion(app, assertion, context)
        else:
            _verify_federated_assertion(app, assertion)
        return app
    secret = basic[1] if basic else form.get("client_secret")
    if not secret:
        raise _invalid_client(7000218, "The request body must contain the following parameter: 'client_assertion' "
                                       "or 'client_secret'.")
    if app.client_secret is None or not hmac.compare_digest(secret.encode(), app.client_secret.encode()):
        raise _invalid_client(7000215, f"Invalid client secret provided. Ensure the secret being sent in the request "
                                       f"is the client secret value, not the client secret ID, for a secret added to "
                                       f"app '{app.client_id}'.")
    return app
