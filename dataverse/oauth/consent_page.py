"""The consent page: who is asking, where the answer goes, and what approving allows, in plain words.

The headline never carries the app's own words. An app registered by DCR chose its name itself ("ChatGPT (OpenAI) -
verified connector" is a name anyone can choose), so the name is shown in quotes with a "Name not verified" mark; an
app identified by a Client ID Metadata Document is shown with the domain that published it and a "Verified domain"
mark. Either way the page shows where the sign-in result goes (the redirect's host, or "an app on this device" for a
loopback redirect). The permission says what the app can read and change, as whom, and until when. Approve is the
primary action, Deny the secondary one.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse

from dataverse.oauth.page_shell import Branding, render_page
from dataverse.oauth.redirects import is_loopback_redirect


@dataclass(frozen=True)
class Abilities:
    """What a signed-in app can do with Dataverse on this deployment (from settings.access_mode and allow_delete)."""

    write: bool
    delete: bool


@dataclass(frozen=True)
class ConsentView:
    transaction_id: str
    csrf_token: str
    client_id: str
    client_name: str | None
    verified_domain: str | None  # the host that published a Client ID Metadata Document; None for DCR clients
    redirect_uri: str
    scopes: list[str]
    environments: list[str]
    resource: str
    abilities: Abilities
    access_ends_at: float


def redirect_destination(redirect_uri: str) -> str:
    """Where the sign-in result goes, in words: a host, or an app on this device for a loopback redirect."""
    parts = urlsplit(redirect_uri)
    if is_loopback_redirect(redirect_uri):
        return f"an app on this device (port {parts.port or 80})"
    if parts.scheme not in ("http", "https"):
        return f"the app that handles {parts.scheme}:// links on this device ({parts.netloc})"
    return parts.hostname or redirect_uri


def _identity(view: ConsentView) -> str:
    esc = html.escape
    name = view.client_name or "Unnamed app"
    if view.verified_domain:
        return (
            f'<p class="app-name" id="client-name">{esc(name)}</p>'
            f'<p><span class="mark verified" id="identity-mark">Verified domain</span> '
            f'<span class="muted">Published by <strong id="verified-domain">{esc(view.verified_domain)}</strong>.'
            "</span></p>"
        )
    return (
        f'<p class="app-name" id="client-name">“{esc(name)}”</p>'
        '<p><span class="mark unverified" id="identity-mark">Name not verified</span> '
        '<span class="muted">The app chose this name itself when it registered; any app can choose any name.</span>'
        "</p>"
    )


def _permissions(view: ConsentView) -> str:
    esc = html.escape
    environments = ", ".join(view.environments) or "the configured environment"
    can = ["<strong>read</strong> the Dataverse records you can read (accounts, contacts, opportunities and the "
           "other tables your security roles open to you)"]
    if view.abilities.write:
        can.append("<strong>create and change</strong> records you are allowed to change")
    if view.abilities.delete:
        can.append("<strong>delete</strong> records you are allowed to delete, each only after a second, explicit "
                   "confirmation")
    if not view.abilities.write:
        can.append("nothing else: this server is read-only")
    items = "".join(f"<li>{item}</li>" for item in can)
    until = time.strftime("%d %B %Y", time.gmtime(view.access_ends_at))
    return (
        "<h2>If you approve, this app can</h2>"
        f'<ul id="abilities">{items}</ul><dl class="facts">'
        f'<dt>Where</dt><dd id="environment" class="wrap">{esc(environments)}</dd>'
        '<dt>As whom</dt><dd id="as-whom">As you. Next you sign in with your Microsoft work account, and the app '
        "gets exactly your Dataverse permissions, no more.</dd>"
        f'<dt>Until when</dt><dd id="until">Until {esc(until)} at the latest. It ends sooner if you remove the '
        "connector or an administrator signs you out.</dd></dl>"
    )


def consent_page(view: ConsentView, *, branding: Branding, form_targets: tuple[str, ...]) -> HTMLResponse:
    esc = html.escape
    scopes = " ".join(view.scopes)
    body = (
        "<h1>Allow an app to use Dataverse as you?</h1>"
        f'<section class="app" aria-label="The app asking">{_identity(view)}'
        f'<p>Sends you back to <strong id="redirect-host" class="wrap">'
        f"{esc(redirect_destination(view.redirect_uri))}</strong></p></section>"
        f"{_permissions(view)}"
        '<p class="next">Approve only if you just started connecting this app yourself.</p>'
        '<form method="post" action="/consent">'
        f'<input type="hidden" name="transaction" value="{esc(view.transaction_id)}">'
        f'<input type="hidden" name="csrf_token" value="{esc(view.csrf_token)}">'
        '<div class="actions">'
        '<button class="button primary" type="submit" name="decision" value="approve" id="approve">Approve</button>'
        '<button class="button secondary" type="submit" name="decision" value="deny" id="deny">Deny</button>'
        "</div></form>"
        "<details><summary>Technical details</summary><dl class=\"facts\">"
        f'<dt>Client ID</dt><dd><code id="client-id">{esc(view.client_id)}</code></dd>'
        f'<dt>Redirect URI</dt><dd><code>{esc(view.redirect_uri)}</code></dd>'
        f'<dt>Scopes</dt><dd><code id="scopes">{esc(scopes)}</code></dd>'
        f'<dt>Server</dt><dd><code>{esc(view.resource)}</code></dd></dl></details>'
    )
    return render_page(branding, title="Allow access?", body=body, form_targets=form_targets)
