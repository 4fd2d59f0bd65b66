"""The web pages the gateway serves beside gRPC-web (web/dist: the widget, the demo page, the
admin panel), with their security headers (CSP, frame-ancestors, nosniff, referrer policy)."""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

# content types of the files a built web app consists of (mimetypes differs between systems)
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".pdf": "application/pdf",
    ".xml": "application/xml",
}

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATIC_DIR = ROOT / "web" / "dist"


class AutoStaticDir:
    def __repr__(self) -> str:
        return "AUTO"


AUTO = AutoStaticDir()  # static_dir default: web/dist of this checkout when it has been built


def default_static_dir() -> Path | None:
    return DEFAULT_STATIC_DIR if (DEFAULT_STATIC_DIR / "index.html").is_file() else None


_STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",  # older browsers; frame-ancestors below for the rest
    "Cross-Origin-Opener-Policy": "same-origin",
}
# The admin panel: our own scripts only, gRPC-web to this origin only, never in a frame
# (clickjacking). Styles may be inline (React style attributes); nothing else is.
ADMIN_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Every other page (the demo shop page writes the widget's tag with a small inline script;
# it stands for a tenant's own site, which sets its own policy)
PAGE_CSP = "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"


def page_headers(path: str) -> dict[str, str]:
    csp = ADMIN_CSP if path == "/admin" or path.startswith("/admin/") else PAGE_CSP
    return {**_STATIC_HEADERS, "Content-Security-Policy": csp}


_NO_PAGES = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>frontdesk</title></head>
<body><h1>frontdesk</h1>
<p>This gateway serves gRPC-web for browsers. No web pages have been built into
<code>web/dist</code> yet.</p></body></html>
"""
_NOT_FOUND = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found</title></head>
<body><h1>Not found</h1><p>There is nothing at {path}.</p><p><a href="/">frontdesk</a></p></body></html>
"""


def _not_found_page(path: str) -> web.Response:
    return web.Response(
        status=404,
        text=_NOT_FOUND.format(path=html.escape(path[:200])),
        content_type="text/html",
        headers=_STATIC_HEADERS,
    )


def not_found_text() -> web.Response:
    return web.Response(status=404, text="not found\n")


async def serve_static(static_dir: Path | None, request: web.Request) -> web.StreamResponse:
    """A file of the built web pages, the single-page apps' index for their routes, or 404."""
    if static_dir is None:
        if request.path in ("/", "/index.html"):
            return web.Response(text=_NO_PAGES, content_type="text/html", headers=page_headers(request.path))
        return _not_found_page(request.path)
    parts = [p for p in request.path.split("/") if p]
    if any(p in (".", "..") or p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
        return _not_found_page(request.path)  # traversal attempts and dotfiles look like missing files
    root = static_dir
    target = root.joinpath(*parts)
    try:
        target = target.resolve()
        if not target.is_relative_to(root):  # a symlink that leads outside
            return _not_found_page(request.path)
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            # a client-side route of the single-page app (no extension): its index.html,
            # the app's own for an app in a folder (/admin/conversations/c_1 -> admin/index.html)
            index = root / parts[0] / "index.html" if parts else root / "index.html"
            if not index.is_file():
                index = root / "index.html"
            if parts and "." not in parts[-1] and index.is_file():
                target = index
            else:
                return _not_found_page(request.path)
    except (OSError, ValueError):
        return _not_found_page(request.path)
    ctype = CONTENT_TYPES.get(target.suffix.lower(), "application/octet-stream")
    cache = "no-cache" if target.suffix.lower() in (".html", ".htm") else "public, max-age=3600"
    headers = page_headers(request.path) if ctype.startswith("text/html") else dict(_STATIC_HEADERS)
    return web.FileResponse(target, headers={**headers, "Content-Type": ctype, "Cache-Control": cache})
