"""The one visual style of every page a person sees (consent, sign-in problems, the landing page, the sandbox
sign-in): the deployer's branding, the HTML shell (viewport, landmarks, language), the stylesheet, and the hardened
headers every page carries.

Branding comes from settings (organisation name, https logo URL, accent colour). The accent colour is used only where
its contrast can be guaranteed: the thin bar at the top and the primary button, whose text colour (black or white) is
chosen for the higher contrast, which is always at least 4.5:1 (WCAG AA). Links and text use fixed dark colours.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse

from dataverse.settings import DEFAULT_ACCENT_COLOR, Settings

PRODUCT_NAME = "Dataverse MCP"
SANDBOX_NOTICE = (
    "<strong>Sandbox mode.</strong> Test data and test users only: nothing here reads or changes a real "
    "Dataverse environment, and the sign-in is a local stand-in for Microsoft Entra ID."
)


def _channel(value: int) -> float:
    scaled = value / 255
    return scaled / 12.92 if scaled <= 0.03928 else ((scaled + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG relative luminance of a #rrggbb colour."""
    red, green, blue = (int(color[index : index + 2], 16) for index in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_color_on(background: str) -> str:
    """Black or white, whichever contrasts more with `background` (never below 4.5:1)."""
    return "#ffffff" if contrast_ratio("#ffffff", background) >= contrast_ratio("#000000", background) else "#000000"


@dataclass(frozen=True)
class Branding:
    """Who the pages speak for, and whether this is the sandbox."""

    name: str = ""
    logo_url: str = ""
    accent: str = DEFAULT_ACCENT_COLOR
    sandbox: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, *, sandbox: bool = False) -> Branding:
        return cls(settings.branding_name, settings.branding_logo_url, settings.branding_accent_color, sandbox)

    @property
    def display_name(self) -> str:
        return self.name or PRODUCT_NAME

    @property
    def image_origin(self) -> str | None:
        if not self.logo_url:
            return None
        parts = urlsplit(self.logo_url)
        return f"{parts.scheme}://{parts.netloc}"


def page_headers(branding: Branding | None = None, *, form_targets: tuple[str, ...] = ()) -> dict[str, str]:
    """No caching, no framing (clickjacking), no referrer, nothing loaded from elsewhere but the logo."""
    form_action = " ".join(("'self'", *form_targets))
    image_origin = branding.image_origin if branding else None
    images = f"; img-src {image_origin}" if image_origin else ""
    return {
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'unsafe-inline'{images}; form-action {form_action}; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
    }


_STYLE = """
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;background:#f3f4f6}
.accent{height:6px;background:var(--accent)}
.shell{max-width:38rem;margin:0 auto;padding:1.25rem 1rem 2rem}
header.brand{display:flex;align-items:center;gap:.75rem;margin:.5rem 0 1rem;font-weight:600;font-size:1.05rem}
header.brand img{max-height:2.5rem;max-width:10rem;width:auto}
.banner{background:#fff7e0;border:1px solid #b7791f;border-radius:8px;padding:.6rem .8rem;margin:0 0 1rem;
  color:#5c3b00}
main{background:#fff;border:1px solid #d5d9de;border-radius:12px;padding:1.25rem 1.25rem 1.5rem}
h1{font-size:1.45rem;line-height:1.3;margin:0 0 .75rem}
h2{font-size:1.05rem;margin:1.25rem 0 .4rem}
p,ul,dl{margin:.5rem 0}
ul{padding-left:1.25rem}
li{margin:.2rem 0}
a{color:#0b4f8a}
code,.wrap{overflow-wrap:anywhere;word-break:break-word}
code{font-family:ui-monospace,SFMono-Regular,Consolas,monospace;font-size:.9em;background:#eef0f3;
  padding:.05rem .3rem;border-radius:4px}
.app{border:1px solid #d5d9de;border-radius:10px;padding:.8rem 1rem;margin:.75rem 0}
.app-name{font-size:1.15rem;font-weight:600;overflow-wrap:anywhere}
.mark{display:inline-block;font-size:.85rem;font-weight:600;border-radius:999px;padding:.1rem .6rem;margin:.25rem 0}
.mark.unverified{background:#fdecea;color:#8a1c12;border:1px solid #d9534f}
.mark.verified{background:#e6f4ea;color:#1e5631;border:1px solid #3c8d50}
.muted{color:#4b5563;font-size:.95rem}
.next{background:#eef4fb;border-left:4px solid #0b4f8a;padding:.6rem .8rem;border-radius:4px}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.25rem}
.button{font:inherit;font-weight:600;border-radius:8px;padding:.7rem 1.4rem;min-height:44px;cursor:pointer;
  border:2px solid transparent;text-decoration:none;display:inline-block;text-align:center}
.button.primary{background:var(--accent);color:var(--on-accent);border-color:var(--accent)}
.button.secondary{background:#fff;color:#1f2933;border-color:#6b7280}
.button:focus-visible,a:focus-visible,input:focus-visible,summary:focus-visible{outline:3px solid #1f2933;
  outline-offset:2px;box-shadow:0 0 0 5px #fff}
details{margin-top:1rem}
summary{cursor:pointer;color:#0b4f8a}
dl.facts dt{font-weight:600;margin-top:.5rem}
dl.facts dd{margin:0}
label{display:block;margin:.35rem 0}
input[type=password],input[type=text]{font:inherit;padding:.5rem;border:1px solid #6b7280;border-radius:6px;
  width:100%;max-width:22rem}
fieldset{border:1px solid #d5d9de;border-radius:8px;margin:.75rem 0;padding:.5rem .9rem}
legend{font-weight:600;padding:0 .3rem}
footer{margin-top:1rem;font-size:.85rem;color:#4b5563;text-align:center}
@media (max-width:30rem){.actions{flex-direction:column}.button{width:100%}main{padding:1rem}h1{font-size:1.3rem}}
"""


def render_page(
    branding: Branding,
    *,
    title: str,
    body: str,
    status_code: int = 200,
    form_targets: tuple[str, ...] = (),
) -> HTMLResponse:
    """A complete page: `body` is trusted HTML (callers escape every value they put in it)."""
    esc = html.escape
    logo = f'<img src="{esc(branding.logo_url)}" alt="">' if branding.logo_url else ""
    banner = f'<p class="banner">{SANDBOX_NOTICE}</p>' if branding.sandbox else ""
    accent = branding.accent
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} – {esc(branding.display_name)}</title>"
        f"<style>:root{{--accent:{accent};--on-accent:{text_color_on(accent)}}}{_STYLE}</style></head><body>"
        '<div class="accent"></div><div class="shell">'
        f'<header class="brand">{logo}<span id="brand-name">{esc(branding.display_name)}</span></header>'
        f"{banner}<main>{body}</main>"
        f"<footer>{esc(branding.display_name)} · Dataverse connector for AI assistants</footer>"
        "</div></body></html>"
    )
    return HTMLResponse(
        document, status_code=status_code, headers=page_headers(branding, form_targets=form_targets)
    )
