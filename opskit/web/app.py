"""The web application: routes, who may see what, HTML or JSON, and the headers every
response carries.

Every page is a plain GET that renders on the server (no JavaScript, nothing loaded from
elsewhere: one stylesheet served from here). Each has a JSON twin at `/api/<same path>`
or with `Accept: application/json`. Responses carry a strict Content-Security-Policy
(`default-src 'none'; style-src 'self'`...), and every value reaches the HTML through
Jinja's autoescape, so a `<script>` in a description or a config line shows as text.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opskit.errors import InputError
from opskit.output import to_jsonable
from opskit.web.auth import COOKIE, Authenticator, Throttled
from opskit.web.configrepo import RepoError
from opskit.web.service import NotFound, Page, WebService, url_of
from opskit.web.settings import WebSettings, WebUser

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
ADMIN_SUFFIXES = ("config", "history", "diff")
DEVICE_SUFFIXES = ("sheet", *ADMIN_SUFFIXES)
MAX_FORM = 16 * 1024
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}


def wants_json(request: Request) -> bool:
    """JSON for `/api/...` or a client that asks for JSON and not HTML."""
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


class SecurityHeaders:
    """Adds the security headers to every response, and refuses unexpected Host headers
    (a page open on loopback must not be readable through DNS rebinding)."""

    def __init__(self, app: ASGIApp, allowed_hosts: set[str] | None) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.allowed_hosts is not None:
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            name = urlsplit(f"//{host}").hostname or ""
            if name not in self.allowed_hosts:
                response = Response(
                    "unexpected Host header\n", status_code=421, media_type="text/plain"
                )
                await response(scope, receive, self._send_with_headers(send, scope))
                return
        await self.app(scope, receive, self._send_with_headers(send, scope))

    @staticmethod
    def _send_with_headers(send: Send, scope: Scope) -> Send:
        extra = list(SECURITY_HEADERS)
        if scope.get("scheme") == "https":  # served over TLS: browsers keep to HTTPS
            extra.append((b"strict-transport-security", b"max-age=31536000"))

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra if k not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        return wrapped


def allowed_hosts(settings: WebSettings, listen_host: str) -> set[str] | None:
    """Host names the server answers to; None: any (users are required anyway)."""
    names = set()
    if settings.base_url:
        names.add(urlsplit(settings.base_url).hostname or "")
    if settings.open:
        return names | LOOPBACK_NAMES | {listen_host}
    return (names | LOOPBACK_NAMES | {listen_host}) if settings.base_url else None


def _static_files() -> dict[str, tuple[bytes, str]]:
    types = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
    out = {}
    for item in resources.files("opskit.web").joinpath("static").iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1]
        if suffix in types:
            out[item.name] = (item.read_bytes(), types[suffix])
    return out


class WebApp:
    """Builds the Starlette application for one `WebService` and its settings."""

    def __init__(
        self, service: WebService, settings: WebSettings, *, listen_host: str = "127.0.0.1"
    ) -> None:
        from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

        self.service = service
        self.settings = settings
        self.auth = Authenticator(settings)
        self.static = _static_files()
        self.static_version = hashlib.sha256(
            b"".join(body for body, _ in self.static.values())
        ).hexdigest()[:10]
        self.env = Environment(
            loader=PackageLoader("opskit.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        from opskit.web import filters

        filters.install(self.env)
        self.listen_host = listen_host

    # -- building -------------------------------------------------------------------
    def build(self) -> ASGIApp:
        """The ASGI application (wrapped in the security headers)."""
        pages: list[tuple[str, Callable[[Request], Page], bool]] = [
            ("/", self._search, False),
            ("/c/{label:path}", lambda r: self.service.cable(r.path_params["label"]), False),
            ("/configs", self._config_search, True),
            ("/health", lambda r: self.service.health(), False),
            ("/firmware", lambda r: self.service.firmware(), False),
            ("/labels", self._labels, False),
        ]
        routes = []
        for path, handler, admin in pages:
            routes.append(Route(path, self._endpoint(handler, admin)))
            api = "/api/search" if path == "/" else "/api" + path
            routes.append(Route(api, self._endpoint(handler, admin)))
        device = self._endpoint(self._device, self._device_is_admin)
        routes += [
            Route("/d/{rest:path}", device),
            Route("/api/d/{rest:path}", device),
            Route("/labels.svg", self._endpoint_raw(self._labels_file("svg"))),
            Route("/labels.pdf", self._endpoint_raw(self._labels_file("pdf"))),
            Route("/login", self._login, methods=["GET", "POST"]),
            Route("/logout", self._logout, methods=["POST"]),
            Route("/static/{name}", self._static_file),
        ]
        app = Starlette(routes=routes)
        app.add_exception_handler(404, self._not_found)
        return SecurityHeaders(app, allowed_hosts(self.settings, self.listen_host))

    # -- who ------------------------------------------------------------------------
    def _user(self, request: Request) -> WebUser | None:
        return self.auth.identify(dict(request.headers), dict(request.cookies), _client(request))

    def _guard(self, request: Request, admin: bool) -> WebUser | Response:
        as_json = wants_json(request)
        try:
            user = self._user(request)
        except Throttled as exc:
            return self._error(
                request, 429, str(exc), None, {"Retry-After": str(int(exc.seconds) + 1)}
            )
        if user is None:
            if as_json or not request.headers.get("accept", "").count("text/html"):
                return self._error(
                    request,
                    401,
                    "log in first (HTTP Basic or the login form)",
                    None,
                    {"WWW-Authenticate": 'Basic realm="opskit", charset="UTF-8"'},
                )
            return self._login_page(request, status=401, next_url=self._here(request))
        if admin and not user.admin:
            log.info("web: %s (technician) refused %s", user.name, request.url.path)
            return self._error(request, 403, "this page is for admins only", user)
        return user

    @staticmethod
    def _here(request: Request) -> str:
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")

    # -- endpoints ------------------------------------------------------------------
    def _endpoint(
        self, handler: Callable[[Request], Page], admin: bool | Callable[[Request], bool]
    ) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            needs_admin = admin(request) if callable(admin) else admin
            who = self._guard(request, needs_admin)
            if isinstance(who, Response):
                return who
            try:
                page = handler(request)
            except NotFound as exc:
                return self._error(request, 404, str(exc), who)
            except InputError as exc:
                return self._error(request, 400, str(exc), who)
            except RepoError as exc:
                return self._error(request, 503, str(exc), who)
            if wants_json(request):
                return self._json(page.data)
            if page.redirect:
                return RedirectResponse(page.redirect, status_code=303)
            return self._html(request, page.template, page.title, who, page.data, page.view)

        return endpoint

    def _endpoint_raw(
        self, handler: Callable[[Request], Response]
    ) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            who = self._guard(request, False)
            if isinstance(who, Response):
                return who
            try:
                return handler(request)
            except NotFound as exc:
                return self._error(request, 404, str(exc), who)

        return endpoint

    def _search(self, request: Request) -> Page:
        q = request.query_params.get("q", "")
        return self.service.search(q, redirect=not wants_json(request))

    def _split_device(self, rest: str) -> tuple[str, str | None]:
        """`name` or `name/suffix` (a device whose own name ends so wins)."""
        index = self.service.index.get()
        if index.device(rest, with_ports=False) is not None:
            return rest, None
        for suffix in DEVICE_SUFFIXES:
            if rest.endswith("/" + suffix):
                return rest[: -len(suffix) - 1], suffix
        return rest, None

    def _device_is_admin(self, request: Request) -> bool:
        rest = request.path_params["rest"]
        if not rest.endswith(tuple("/" + s for s in ADMIN_SUFFIXES)):
            return False
        return self._split_device(rest)[1] in ADMIN_SUFFIXES

    def _device(self, request: Request) -> Page:
        name, suffix = self._split_device(request.path_params["rest"])
        q = request.query_params
        if suffix is None:
            return self.service.device(name)
        if suffix == "sheet":
            return self.service.sheet(name)
        if suffix == "config":
            return self.service.config(name, q.get("rev") or None)
        if suffix == "history":
            return self.service.history(name, _int(q.get("page"), 1), q.get("after") or None)
        return self.service.diff(name, q.get("a") or None, q.get("b") or None)

    def _config_search(self, request: Request) -> Page:
        q = request.query_params.get("q", "")
        if len(q) > 500:
            raise InputError("the search is too long (500 characters at most)")
        return self.service.config_search(q, ignore_case=bool(request.query_params.get("i")))

    def _base_url(self, request: Request) -> str:
        if self.settings.base_url:
            return self.settings.base_url
        return str(request.base_url).rstrip("/")

    def _labels(self, request: Request) -> Page:
        q = request.query_params
        return self.service.labels(
            q.get("site") or None, self._base_url(request), _int(q.get("page"), 1)
        )

    def _labels_file(self, kind: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            from opskit.web.labels import layout_sheets, render_pdf, render_svg

            site = request.query_params.get("site") or None
            pages = layout_sheets(self.service.label_rows(site), self._base_url(request))
            name = f"labels-{site or 'all'}.{kind}"
            disposition = {"Content-Disposition": f'inline; filename="{quote(name)}"'}
            if kind == "pdf":
                return Response(
                    render_pdf(pages), media_type="application/pdf", headers=disposition
                )
            return Response(render_svg(pages), media_type="image/svg+xml", headers=disposition)

        return handler

    # -- login ----------------------------------------------------------------------
    def _login_page(
        self, request: Request, *, status: int = 200, next_url: str = "/", message: str = ""
    ) -> Response:
        data = {"next": _local(next_url), "message": message}
        return self._html(request, "login.html", "Log in", None, data, {}, status=status)

    async def _login(self, request: Request) -> Response:
        if self.settings.open:
            return RedirectResponse("/", status_code=303)
        if request.method == "GET":
            return self._login_page(request, next_url=request.query_params.get("next", "/"))
        if not _same_origin(request):
            return self._error(request, 403, "login from another site refused", None)
        body = await request.body()
        if len(body) > MAX_FORM:
            return self._error(request, 413, "form too large", None)
        form = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=10)
        name = (form.get("user") or [""])[0]
        password = (form.get("password") or [""])[0]
        next_url = _local((form.get("next") or ["/"])[0])
        try:
            user = await run_in_threadpool(self.auth.login, name, password, _client(request))
        except Throttled as exc:
            response = self._login_page(request, status=429, next_url=next_url, message=str(exc))
            response.headers["Retry-After"] = str(int(exc.seconds) + 1)
            return response
        if user is None:
            return self._login_page(
                request, status=401, next_url=next_url, message="wrong user name or password"
            )
        log.info("web: %s (%s) logged in from %s", user.name, user.role, _client(request))
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(
            COOKIE,
            self.auth.session_cookie(user),
            max_age=int(self.settings.session_hours * 3600),
            httponly=True,
            samesite="strict",
            secure=self._secure(request),
        )
        return response

    async def _logout(self, request: Request) -> Response:
        response = RedirectResponse("/login" if not self.settings.open else "/", 303)
        response.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return response

    def _secure(self, request: Request) -> bool:
        base = self.settings.base_url or ""
        return base.startswith("https://") or request.url.scheme == "https"

    # -- rendering ------------------------------------------------------------------
    def _static_file(self, request: Request) -> Response:
        found = self.static.get(request.path_params["name"])
        if found is None:
            return Response("not found\n", status_code=404, media_type="text/plain")
        body, media_type = found
        return Response(
            body, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
        )

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(to_jsonable(data), ensure_ascii=False, indent=1) + "\n"
        return Response(body, status, headers, media_type="application/json")

    def _html(
        self,
        request: Request,
        template: str,
        title: str,
        user: WebUser | None,
        data: dict[str, Any],
        view: dict[str, Any],
        status: int = 200,
    ) -> Response:
        context = {
            **data,
            **view,
            "title": title,
            "user": user,
            "open": self.settings.open,
            "css": f"/static/opskit.css?v={self.static_version}",
            "q": request.query_params.get("q", "") if template == "search.html" else "",
            "here": request.url.path,
            "url_c": lambda name, *rest: url_of("c", name, *rest),
            "url_d": lambda name, *rest: url_of("d", name, *rest),
        }
        body = self.env.get_template(template).render(context)
        return Response(body, status, media_type="text/html; charset=utf-8")

    def _error(
        self,
        request: Request,
        status: int,
        message: str,
        user: WebUser | None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if wants_json(request) or "text/html" not in request.headers.get("accept", "text/html"):
            payload = {"ok": False, "error": {"status": status, "message": message}}
            return self._json(payload, status, headers)
        response = self._html(
            request, "error.html", f"{status}", user, {"status": status, "message": message}, {},
            status=status,
        )  # fmt: skip
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return self._error(request, 404, f"no page {request.url.path}", None)


def _int(text: str | None, default: int) -> int:
    try:
        return max(1, int(text or default))
    except ValueError:
        return default


def _same_origin(request: Request) -> bool:
    """False for a form posted from another site (login CSRF): the browser says so in
    Sec-Fetch-Site, or its Origin names another host."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return not origin or origin == "null" or urlsplit(origin).netloc == request.headers.get("host")


def _local(url: str) -> str:
    """A redirect target on this site only (`/path?query`), else `/`.

    >>> _local("/d/sw1"), _local("//evil.example/"), _local("https://evil.example/")
    ('/d/sw1', '/', '/')
    """
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


def create_app(
    service: WebService, settings: WebSettings, listen_host: str = "127.0.0.1"
) -> ASGIApp:
    """The ASGI application serving `service`'s pages under `settings`' users."""
    return WebApp(service, settings, listen_host=listen_host).build()
