"""The pages of the sandbox Entra ID, in the app's one visual style (dataverse.oauth.page_shell) with the sandbox
banner: the sign-in page (naming the app registration the user signs in to, as Entra does), its error page, and the
index at /sandbox/entra/ that says what the sandbox is and who can sign in."""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse

from dataverse.oauth.page_shell import Branding, render_page
from dataverse.sandbox.entra.errors import SandboxEntraError
from dataverse.sandbox.entra.registry import SandboxApp
from dataverse.sandbox.users import SANDBOX_PASSWORD, SANDBOX_USERS, SandboxUser

SANDBOX_BRANDING = Branding(name="Sandbox Entra ID", sandbox=True)


def sign_in_page(*, action: str, app: SandboxApp, selected: SandboxUser | None, message: str | None,
                 status_code: int = 200) -> HTMLResponse:
    esc = html.escape
    choices = "".join(
        f'<label><input type="radio" name="username" value="{esc(user.username)}"'
        f'{" checked" if user == selected else ""}> {esc(user.full_name)} <span class="muted">({esc(user.upn)})</span>'
        "</label>"
        for user in SANDBOX_USERS
    )
    notice = f'<p id="error" role="alert" class="banner">{esc(message)}</p>' if message else ""
    body = (
        f'<h1>Sign in to <span id="app-name">{esc(app.display_name)}</span></h1>'
        f'<p class="muted">Application ID <code>{esc(app.client_id)}</code></p>{notice}'
        f'<form method="post" action="{esc(action)}">'
        f"<fieldset><legend>Choose a sandbox user</legend>{choices}</fieldset>"
        '<label for="password">Password</label>'
        '<input type="password" id="password" name="password" value="" autocomplete="current-password">'
        f'<p class="muted">Every sandbox user\'s password is <code>{SANDBOX_PASSWORD}</code>.</p>'
        '<div class="actions"><button class="button primary" type="submit" id="sign-in">Sign in</button></div>'
        "</form>"
    )
    return render_page(SANDBOX_BRANDING, title="Sign in", body=body, status_code=status_code)


def error_page(error: SandboxEntraError) -> HTMLResponse:
    body = (
        "<h1>Sorry, but we're having trouble signing you in.</h1>"
        f'<p id="error">{html.escape(error.description)}</p>'
        '<h2>What to do next</h2><p class="next" id="next-step">Go back to the app and connect again. In the '
        "sandbox, restarting <code>make run</code> also resets every sign-in.</p>"
    )
    return render_page(SANDBOX_BRANDING, title="Sign-in problem", body=body, status_code=error.status_code)


def index_page(*, tenant_id: str, authorization_endpoint: str, apps: list[SandboxApp]) -> HTMLResponse:
    esc = html.escape
    users = "".join(f"<li>{esc(user.username)}: {esc(user.full_name)}, {esc(user.role)} "
                    f'<span class="muted">({esc(user.upn)})</span></li>' for user in SANDBOX_USERS)
    registrations = "".join(f"<li>{esc(app.display_name)} <code>{esc(app.client_id)}</code></li>" for app in apps)
    body = (
        "<h1>Sandbox Entra ID</h1>"
        "<p>A local stand-in for Microsoft Entra ID (login.microsoftonline.com) for one tenant. The server's sign-in "
        "sends you here after you approve an app on the consent page; you never need to open this page yourself.</p>"
        f'<h2>Tenant</h2><p><code id="tenant">{esc(tenant_id)}</code></p>'
        f"<h2>App registrations</h2><ul>{registrations}</ul>"
        f"<h2>Users</h2><p>Password for everyone: <code>{SANDBOX_PASSWORD}</code>.</p><ul id=\"users\">{users}</ul>"
        f'<h2>Endpoints</h2><p>Authorize: <code class="wrap">{esc(authorization_endpoint)}</code></p>'
        '<h2>What to do next</h2><p class="next" id="next-step">Connect an MCP client to this server\'s MCP URL (see '
        '<a href="/">the start page</a>); it opens the consent page, then this sandbox\'s sign-in.</p>'
    )
    return render_page(SANDBOX_BRANDING, title="Sandbox Entra ID", body=body)
