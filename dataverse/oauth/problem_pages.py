"""Sign-in problems a person sees in the browser, each as one page that says what happened and names the next step.

These are the errors that cannot (or must not) go back to the app: an unknown or expired client id, a redirect URI
the app never registered, an expired or replayed sign-in request, an approval that did not come from our consent
page, a sign-in finished in another browser, too many attempts. Every page has the same shape (page_shell.py): a
headline, what happened (`#error`), and the next step (`#next-step`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from starlette.responses import HTMLResponse

from dataverse.oauth.page_shell import Branding, render_page

RECONNECT = (
    "Remove the connector and add it again: in ChatGPT under Settings → Apps &amp; Connectors, in Claude under "
    "Settings → Connectors. In VS Code run “Authentication: Remove Dynamic Authentication Providers”, then start "
    "the server again."
)
START_AGAIN = "Go back to the app (ChatGPT, Claude, VS Code, …) and connect again from there."


@dataclass(frozen=True)
class Problem:
    """One sign-in problem: headline, what happened (plain text) and the next step (trusted HTML)."""

    title: str
    explanation: str
    next_step: str


EXPIRED_REQUEST = Problem(
    "This sign-in link has expired",
    "This sign-in request has expired or was already used. Sign-in links work once, for 10 minutes.",
    START_AGAIN,
)
CLIENT_NOT_REGISTERED = Problem(
    "This app is not registered here any more",
    "The app that sent you here uses a registration this server does not know: it expired after a long time "
    "unused, or it was made for another server.",
    RECONNECT,
)
REDIRECT_NOT_REGISTERED = Problem(
    "This app asked to send you somewhere it did not register",
    "The app asked to return you to an address that is not one it registered, so this server will not send your "
    "sign-in there.",
    RECONNECT,
)
BAD_REQUEST = Problem(
    "This sign-in request is not valid",
    "The app sent a sign-in request this server cannot accept.",
    START_AGAIN + " If it keeps happening, remove the connector and add it again.",
)
FORGED_APPROVAL = Problem(
    "This approval was not accepted",
    "This approval did not come from the consent page that was shown in this browser.",
    START_AGAIN,
)
OTHER_BROWSER = Problem(
    "Finish signing in in the same browser",
    "This sign-in was started in another browser, or this browser's cookies were cleared meanwhile.",
    START_AGAIN + " Approve and sign in in the same browser window.",
)
TOO_MANY_ATTEMPTS = Problem(
    "Too many sign-in attempts",
    "There were too many sign-in attempts from your network in a short time.",
    "Wait a minute, then go back to the app and connect again.",
)


def problem_page(branding: Branding, problem: Problem, *, status_code: int = 400, detail: str = "") -> HTMLResponse:
    """The page for `problem`; `detail` (plain text, e.g. the client id) is shown under the explanation."""
    esc = html.escape
    extra = f'<p class="muted wrap" id="detail">{esc(detail)}</p>' if detail else ""
    body = (
        f"<h1>{esc(problem.title)}</h1>"
        f'<p id="error">{esc(problem.explanation)}</p>{extra}'
        f'<h2>What to do next</h2><p class="next" id="next-step">{problem.next_step}</p>'
    )
    return render_page(branding, title=problem.title, body=body, status_code=status_code)


def prefers_html(accept: str | None) -> bool:
    """True when the caller is a browser (it asks for text/html); a client asking for JSON, or anything else, is not."""
    return "text/html" in (accept or "").lower()
