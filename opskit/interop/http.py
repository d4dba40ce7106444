"""A JSON API client for inventory sources: timeouts, size limits, and bounded paging.

Sources are other people's servers, so every answer is checked: a status other than 200
is one line naming the URL (never the token); a body over `MAX_BODY` bytes or not JSON is
refused; a NetBox list is followed page by page through its `next` links, and a `next`
that goes back (a page seen before, or an offset not past the current one), more pages
than `count` allows, or a page of nothing with a `next`, stops the import instead of
looping forever. A `next` link is always requested from the host the user named (a
server cannot send the token elsewhere).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from opskit.errors import DeviceError, InputError

MAX_BODY = 256 * 1024 * 1024


def redact(url: str) -> str:
    """A URL as shown in messages: no user:password part.

    >>> redact("https://bob:secret@nb.example.net/api/")
    'https://nb.example.net/api/'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class JsonClient:
    """GET JSON from one base URL with fixed headers (the token never leaves them)."""

    def __init__(
        self, base_url: str, headers: Mapping[str, str], *, timeout: float, what: str
    ) -> None:
        import httpx

        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"--url {base_url!r}: give http(s)://HOST[:PORT][/PATH]")
        self.what = what
        self.base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        self._origin = (parts.scheme, parts.netloc)
        self._client = httpx.Client(
            headers={"Accept": "application/json", **headers},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> JsonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """An absolute URL below the base URL."""
        query = urlencode(params or {}, doseq=True)
        return f"{self.base}{path}" + (f"?{query}" if query else "")

    def get(self, url: str) -> Any:
        """GET a URL and parse its JSON body.

        Raises:
            DeviceError: the server cannot be reached or answers other than 200.
            InputError: the body is too big or not JSON.
        """
        import httpx

        shown = redact(url)
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    status = f"HTTP {response.status_code} {response.reason_phrase or ''}"
                    detail = _detail(response)
                    raise DeviceError(f"{self.what} {shown}: {status.rstrip()}{detail}")
                length = int(response.headers.get("content-length") or 0)
                if length > MAX_BODY:
                    raise InputError(f"{self.what} {shown}: answer of {length} bytes is too big")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BODY:
                        raise InputError(f"{self.what} {shown}: answer is over {MAX_BODY} bytes")
                    chunks.append(chunk)
        except httpx.TimeoutException:
            raise DeviceError(f"{self.what} {shown}: no answer in time") from None
        except httpx.HTTPError as exc:
            raise DeviceError(f"{self.what} {shown}: {type(exc).__name__}: {exc}") from None
        try:
            return json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError):
            raise InputError(f"{self.what} {shown}: the answer is not JSON") from None

    def same_origin(self, url: str) -> str:
        """`url` re-based onto the base URL's scheme and host (path and query kept)."""
        parts = urlsplit(url)
        return urlunsplit((*self._origin, parts.path, parts.query, ""))

    def pages(self, path: str, params: Mapping[str, Any]) -> Iterator[list[Any]]:
        """The `results` of every page of a NetBox list, following `next` (bounded).

        Raises:
            InputError: a page is not a NetBox list, or the pages would never end.
        """
        url = self.url(path, params)
        seen = {_page_key(url)}
        offset = _int((parse_qs(urlsplit(url).query).get("offset") or ["0"])[0], 0)
        pages = 0
        total = 0
        count: int | None = None
        while url:
            shown = redact(url)
            page = self.get(url)
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise InputError(f"{self.what} {shown}: not a list page (no 'results')")
            results = page["results"]
            pages += 1
            total += len(results)
            if count is None:
                count = page.get("count") if isinstance(page.get("count"), int) else None
            if count is not None and total > count:
                raise InputError(
                    f"{self.what} {shown}: more objects ({total}) than the list's count ({count})"
                )
            yield results
            nxt = page.get("next")
            if not nxt:
                return
            if not isinstance(nxt, str):
                raise InputError(f"{self.what} {shown}: 'next' is not a URL")
            if not results:
                raise InputError(f"{self.what} {shown}: an empty page with a 'next' link")
            url = self.same_origin(nxt)
            key = _page_key(url)
            query = parse_qs(urlsplit(url).query)
            new_offset = _int((query.get("offset") or [""])[0], offset + 1)
            if key in seen or new_offset <= offset or (count is not None and pages > count):
                raise InputError(
                    f"{self.what} {shown}: the 'next' link goes back to an earlier page "
                    f"({redact(nxt)}); the list never ends"
                )
            seen.add(key)
            offset = new_offset


def _page_key(url: str) -> tuple[str, str]:
    """A page's identity: its path and sorted query."""
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    return parts.path.rstrip("/"), "&".join(f"{k}={v}" for k, v in sorted(query.items()))


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def _detail(response: Any) -> str:
    """`: <detail>` from a JSON error body (NetBox/DRF `detail`, LibreNMS `message`)."""
    try:
        response.read()
        body = response.json()
    except Exception:  # any unreadable body: the status line says enough
        return ""
    if isinstance(body, dict):
        for key in ("detail", "message", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return f": {' '.join(value.split())[:200]}"
    return ""
