"""The web front ends: the public map (/), the staff dashboard (/dashboard) and the reference
reporting client (/report, a progressive web app), served from the esbuild output in
api/web/dist (built by `npm ci && npm run build` in api/web; ops/dev.sh does it).

Every page loads only what this server serves; the Content-Security-Policy says so, and adds
the origin of the optional base-map tiles (STRAATSTEM_TILE_URL) to img-src and nothing else.
Files are read into memory once, with an ETag and a gzip copy, and revalidated by browsers
(`no-cache`), so a rebuild is picked up by a restart without stale caches.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from api.settings import Settings

log = structlog.get_logger("straatstem.web")

DIST = Path(__file__).parent / "dist"
# Built outputs every page needs; a tree without them is reported as not built.
REQUIRED = ("assets/dashboard.js", "assets/public.js", "assets/report.js", "report-sw.js", "pages/index.html")
HEAD_MARKER = "<!--straatstem:head-->"
NOT_BUILT = (
    "the web front end is not built: run `bash ops/dev.sh demo`, or `npm ci && npm run build` in api/web "
    "(needs Node.js 18+ and npm)"
)

mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("image/svg+xml", ".svg")


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


def tile_origin(url: str) -> str:
    """The CSP source of a tile template: its scheme and host, `{s}.` subdomains as `*.`."""
    match = re.match(r"(https://[^/]+)", url)
    assert match is not None  # settings only accept https templates
    return match.group(1).replace("{s}.", "*.")


def content_security_policy(settings: Settings) -> str:
    images = "'self' data:" + (f" {tile_origin(settings.tile_url)}" if settings.tile_url else "")
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "font-src 'self'",
            "connect-src 'self'",
            "manifest-src 'self'",
            "worker-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )


def security_headers(settings: Settings) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
    }


def _head(settings: Settings) -> str:
    if not settings.tile_url:
        return ""
    url = html.escape(settings.tile_url, quote=True)
    attribution = html.escape(settings.tile_attribution, quote=True)
    return f'<meta name="straatstem-tiles" content="{url}" data-attribution="{attribution}">'


def _asset(body: bytes, name: str) -> Asset:
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media_type.endswith(("json", "+xml")):
        media_type += "; charset=utf-8"  # Litestar adds the charset to text/* types itself
    compressible = len(body) > 1024 and not name.endswith((".png", ".woff2"))
    gzipped = gzip.compress(body, compresslevel=9, mtime=0) if compressible else None
    return Asset(body, gzipped, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


class WebAssets:
    """The built front end in memory; `missing` names what is not built."""

    def __init__(self, settings: Settings, root: Path = DIST) -> None:
        self.missing, self.files = _load(root, _head(settings))


@functools.lru_cache(maxsize=8)
def _load(root: Path, head: str) -> tuple[str | None, dict[str, Asset]]:
    """Read and compress once per process (apps are built per worker, and per test)."""
    absent = [name for name in REQUIRED if not (root / name).is_file()]
    if absent:
        log.warning("web front end not built", reason=f"{NOT_BUILT}; missing {', '.join(absent)}")
        return NOT_BUILT, {}
    files: dict[str, Asset] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        name = path.relative_to(root).as_posix()
        body = path.read_bytes()
        if name.endswith(".html"):
            body = body.replace(HEAD_MARKER.encode(), head.encode())
        files[name] = _asset(body, name)
    return None, files


def web_assets(state: State) -> WebAssets:
    found: WebAssets = state.runtime.web
    return found


def _accepts_gzip(request: Request[Any, Any, Any]) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def serve(state: State, request: Request[Any, Any, Any], name: str, *, page: bool = False) -> Response[bytes]:
    assets = web_assets(state)
    headers = security_headers(state.runtime.settings) if page else {"X-Content-Type-Options": "nosniff"}
    if assets.missing is not None:
        body = f"<!doctype html><title>straatstem</title><p>{html.escape(assets.missing)}</p>".encode()
        return Response(body, status_code=503, media_type="text/html; charset=utf-8", headers=headers)
    asset = assets.files.get(name)
    if asset is None:
        return Response(b"not found", status_code=404, media_type="text/plain; charset=utf-8", headers=headers)
    headers |= {"ETag": asset.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(b"", status_code=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and _accepts_gzip(request):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


# --- handlers -------------------------------------------------------------------------------


# Fixed paths: (URL, built file, whether it gets the page headers with the CSP). The service
# worker sits at the root so that its scope may be /report (a worker's scope cannot lie above
# its own path).
FILES = (
    ("/", "pages/index.html", True),
    ("/dashboard", "pages/dashboard.html", True),
    ("/report", "pages/report.html", True),
    ("/report-sw.js", "report-sw.js", True),
    ("/report.webmanifest", "pages/manifest.webmanifest", False),
)


def _file_handler(path: str, name: str, page: bool) -> HTTPRouteHandler:
    async def handler(state: State, request: Request[Any, Any, Any]) -> Response[bytes]:
        return serve(state, request, name, page=page)

    return get(path, include_in_schema=False, name=f"web:{name}")(handler)


@get("/assets/{name:path}", include_in_schema=False)
async def asset(state: State, request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
    clean = name.lstrip("/")
    if "/" in clean or clean.startswith(".") or clean.endswith(".html"):
        return serve(state, request, "")  # not found: pages are served only with their headers
    # Page-level files (icons) live beside the pages; bundles and their images under assets/.
    key = f"assets/{clean}" if f"assets/{clean}" in web_assets(state).files else f"pages/{clean}"
    return serve(state, request, key)


def handlers() -> list[HTTPRouteHandler]:
    return [*(_file_handler(*entry) for entry in FILES), asset]
