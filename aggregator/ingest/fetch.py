"""The httpx adapter: one conditional GET per source, with limits.

- ETag and Last-Modified are sent back exactly as received (conditional GET).
- Redirects are followed on purpose, at most ``max_redirects``; a chain made only
  of permanent redirects (301/308) is reported so the source can be moved.
- The whole request has a deadline, so a server dripping bytes cannot hold a worker.
- The body is read raw and decompressed here, in bounded steps, and counted after
  decompression: a gzip bomb stops at ``max_body_size``, never in memory whole. It is
  hashed as it is read; a compressed body is hashed as received too, and when those
  bytes are the last body's (a server that ignores validators), nothing is inflated.
- Private, loopback and link-local addresses are refused after DNS resolution (the
  address we check is the one we connect to), unless allowed in the settings.

Every failure comes back as a FetchError value, never raised.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import ipaddress
import os
import socket
import ssl
import zlib
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import certifi
import httpcore
import httpx
from httpcore._backends.auto import AutoBackend

from aggregator.exceptions import FetchError
from aggregator.ingest.schedule import parse_retry_after
from aggregator.text import url_problem
from aggregator.types import Fetched, NotModified, SourceToFetch
from aggregator.version import __version__

if TYPE_CHECKING:
    from aggregator.config import Settings

USER_AGENT = f"aggregator/{__version__} (feed aggregator; +https://github.com/aggregator/aggregator)"
ACCEPT = ("application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
          "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"  # an article page
PERMANENT_REDIRECTS = frozenset({301, 308})
_CHUNK = 64 * 1024
Client: TypeAlias = httpx.AsyncClient  # for the shell's signatures (httpx lives here only)


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float = 30.0  # seconds for the whole request, body included
    connect_timeout: float = 10.0
    max_body_size: int = 15 * 1024 * 1024
    max_redirects: int = 5
    allow_private_networks: bool = False

    @classmethod
    def of(cls, settings: Settings) -> FetchLimits:
        """The limits feeds.yaml's settings set."""
        return cls(timeout=settings.timeout.total_seconds(),
                   max_body_size=settings.max_body_size,
                   allow_private_networks=settings.allow_private_networks)


class BlockedAddressError(httpcore.ConnectError):
    """The host resolves to an address we do not fetch from."""


def blocked_reason(address: str) -> str | None:
    """Why ``address`` must not be fetched from, or None when it is a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, kind in ((ip.is_loopback, "loopback"), (ip.is_link_local, "link-local"),
                       (ip.is_private, "private"), (ip.is_multicast, "multicast"),
                       (ip.is_unspecified, "unspecified"), (ip.is_reserved, "reserved")):
        if test:
            return f"{address} is a {kind} address"
    return None


class GuardedBackend(AutoBackend):
    """httpcore's network backend, resolving names itself and refusing private addresses.

    The address checked is the address connected to, so DNS rebinding cannot slip a
    private address in between the check and the connection. TLS still verifies the
    host name (httpcore passes it separately as the server name).
    """

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
        except (OSError, TimeoutError) as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        reasons = [blocked_reason(a) for a in addresses]
        allowed = [a for a, r in zip(addresses, reasons, strict=True) if r is None]
        if not allowed:
            raise BlockedAddressError(
                f"refused: {host} resolves to a non-public address ({reasons[0]}); "
                "set settings.allow_private_networks: true to fetch from it")
        last: Exception | None = None
        for address in allowed:
            try:
                return await super().connect_tcp(address, port, timeout=timeout,
                                                  local_address=local_address,
                                                  socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        assert last is not None
        raise last


#: why a URL can never be fetched (text.url_problem), remembered: the scheduler polls
#: the same URLs every tick
_url_problem = functools.lru_cache(maxsize=8192)(url_problem)
#: a URL parsed by httpx (immutable; parsing costs more than the rest of building a request)
_parsed_url = functools.lru_cache(maxsize=8192)(httpx.URL)
#: the request ``fetch`` sent first, its URL already checked (each fetch runs in a task
#: of its own, so in a context of its own)
_checked: ContextVar[httpx.Request | None] = ContextVar("checked", default=None)


async def _refuse_unfetchable(request: httpx.Request) -> None:
    """Request hook, so a redirect's target is checked before it is connected to."""
    if request is _checked.get():
        return
    problem = url_problem(str(request.url))
    if problem is not None:
        raise FetchError(f"redirected to a URL that cannot be fetched: {problem}", kind="url")


class _LazyTrustContext(ssl.SSLContext):
    """httpx's default TLS settings, the CA certificates loaded at the first TLS
    connection: reading the bundle costs tens of ms, more than a whole cycle of 304s
    from one host, and a run that fetches no https URL needs none of it."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            # what httpx.create_ssl_context() loads: SSL_CERT_FILE, SSL_CERT_DIR or certifi
            cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
            if cafile:
                self.load_verify_locations(cafile=cafile)
            elif capath:
                self.load_verify_locations(capath=capath)
            else:
                self.load_verify_locations(cafile=certifi.where())
            self._loaded = True

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._load()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load()
        return super().wrap_socket(*args, **kwargs)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The TLS context of every client of this process (the scheduler makes a client
    every tick): certificates verified and host names checked, as httpx does."""
    return _LazyTrustContext(ssl.PROTOCOL_TLS_CLIENT)


def make_client(limits: FetchLimits, user_agent: str | None = None,
                concurrency: int = 16) -> httpx.AsyncClient:
    """One client for one update run: shared connection pool, our headers, our limits."""
    transport = httpx.AsyncHTTPTransport(
        verify=_tls_context(),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency))
    if not limits.allow_private_networks:
        # httpx has no public hook for the network backend; httpcore 1.x keeps it here
        transport._pool._network_backend = GuardedBackend()
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        timeout=httpx.Timeout(limits.timeout, connect=min(limits.connect_timeout, limits.timeout)),
        headers={"User-Agent": user_agent or USER_AGENT, "Accept": ACCEPT,
                 "Accept-Encoding": "gzip, deflate"},
        trust_env=False,
        event_hooks={"request": [_refuse_unfetchable]},
    )


def _permanent_target(response: httpx.Response) -> str | None:
    history = response.history
    if history and all(r.status_code in PERMANENT_REDIRECTS for r in history):
        return str(response.url)
    return None


class _Inflater:
    """gzip/deflate decompression in bounded steps: never more than ``room`` bytes out."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)
        self._raw_deflate = False
        self._pending = b""

    def feed(self, data: bytes, room: int) -> bytes:
        """Decompress ``data`` (plus what was left over), at most ``room + 1`` bytes out."""
        data = self._pending + data
        try:
            out = self._zlib.decompress(data, room + 1)
        except zlib.error:
            if self.encoding != "deflate" or self._raw_deflate:
                raise
            # some servers send raw deflate without the zlib header
            self._raw_deflate = True
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._zlib.decompress(data, room + 1)
        self._pending = self._zlib.unconsumed_tail
        return out

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)


@dataclass(frozen=True, slots=True)
class _Body:
    data: bytes
    digest: str  # SHA-256 of ``data``, hex
    wire_digest: str = ""  # SHA-256 of the encoding and the compressed bytes; "" if none


async def _read_capped(response: httpx.Response, cap: int,
                       seen_wire: str | None = None) -> _Body | None:
    """The body, decompressed in bounded steps and hashed as it is read. A compressed
    body is read whole first (hashed on the way): if it is byte for byte the one whose
    hash is ``seen_wire``, it is not inflated at all and None comes back."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
        raise FetchError(f"unsupported content encoding {encoding!r}", kind="decoding",
                         status=response.status_code)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap and encoding in ("identity", ""):
        raise FetchError(f"body too large: {int(declared)} bytes declared, limit {cap}",
                         kind="too_large", status=response.status_code)
    too_large = FetchError(f"body too large: more than {cap} bytes", kind="too_large",
                           status=response.status_code)
    body, digest = bytearray(), hashlib.sha256()
    if encoding in ("identity", ""):
        async for raw in response.aiter_raw(_CHUNK):
            body += raw
            if len(body) > cap:
                raise too_large
            digest.update(raw)
        return _Body(bytes(body), digest.hexdigest())
    # Compressed: deflate adds at most 5 bytes per 64 KiB block, and gzip a header and
    # a trailer, so more than this on the wire is more than ``cap`` once inflated (or a
    # gzip header padded to fill the wire).
    wire, chunks, size = hashlib.sha256(encoding.encode() + b"\n"), [], 0
    async for raw in response.aiter_raw(_CHUNK):
        size += len(raw)
        if size > cap + cap // 1024 + _CHUNK:
            raise too_large
        wire.update(raw)
        chunks.append(raw)
    wire_digest = wire.hexdigest()
    if seen_wire is not None and wire_digest == seen_wire:
        return None
    inflater = _Inflater(encoding)
    chunks.reverse()  # popped in order, so each is freed once inflated
    try:
        while chunks:
            out = inflater.feed(chunks.pop(), cap - len(body))
            while True:
                body += out
                digest.update(out)
                if len(body) > cap:
                    raise too_large
                if not inflater.has_pending:
                    break
                out = inflater.feed(b"", cap - len(body))
    except zlib.error as error:
        raise FetchError(f"corrupt {encoding} body: {error}", kind="decoding",
                         status=response.status_code) from error
    return _Body(bytes(body), digest.hexdigest(), wire_digest)


def _raw_client_error(error: httpx.HTTPError) -> FetchError:
    text = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError) and text.startswith("refused:"):
        return FetchError(text, kind="blocked")
    return FetchError(f"{type(error).__name__}: {text}", kind="network")


async def fetch_page(client: httpx.AsyncClient, url: str, limits: FetchLimits,
                     now: datetime) -> Fetched | FetchError:
    """GET an article page (a ``full_text`` source's item) under the rules a feed is
    fetched by: the same client (private-address guard, redirects checked), deadline
    and body cap. No validators are sent: a page is fetched once per version of its
    item. Never raises for anything the network or server does."""
    page = SourceToFetch(id=0, name=url, url=url)
    result = await fetch(client, page, limits, now, accept=PAGE_ACCEPT)
    if isinstance(result, NotModified):  # nothing was sent for it to be unmodified against
        return FetchError("unexpected HTTP 304", kind="http", status=304)
    if isinstance(result, FetchError) and result.kind == "gone":
        return FetchError("HTTP 410 Gone", kind="http", status=result.status)
    return result


async def fetch(client: httpx.AsyncClient, source: SourceToFetch, limits: FetchLimits,
                now: datetime, *, accept: str | None = None
                ) -> Fetched | NotModified | FetchError:
    """GET a source's feed (``accept``: another Accept header than a feed's). Never
    raises for anything the network or server does."""
    problem = _url_problem(source.url)
    if problem is not None:
        return FetchError(problem, kind="url")
    headers: dict[str, str] = {"Accept-Encoding": "gzip, deflate"}  # whatever the client
    if accept:
        headers["Accept"] = accept
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    try:
        async with asyncio.timeout(limits.timeout):
            request = client.build_request("GET", _parsed_url(source.url), headers=headers)
            _checked.set(request)
            response = await client.send(request, stream=True)
            try:
                return await _handle(response, source, limits, now)
            finally:
                await response.aclose()
    except FetchError as error:
        return error
    except TimeoutError:
        return FetchError(f"timed out after {limits.timeout:g}s", kind="timeout")
    except httpx.TooManyRedirects:
        return FetchError(f"too many redirects (more than {limits.max_redirects}, or a loop)",
                          kind="redirects")
    except httpx.TimeoutException as error:
        return FetchError(f"timed out ({type(error).__name__})", kind="timeout")
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
        return FetchError(f"invalid URL: {error}", kind="url")
    except httpx.HTTPError as error:
        return _raw_client_error(error)
    except OSError as error:
        return FetchError(f"network error: {error}", kind="network")
    except (ValueError, OverflowError) as error:  # UnicodeError (IDNA), a port out of range
        return FetchError(f"invalid URL: {error}", kind="url")
    except BaseExceptionGroup as group:  # anyio wraps what a connection attempt raised
        leaf: BaseException = group
        while isinstance(leaf, BaseExceptionGroup):
            leaf = leaf.exceptions[0]
        if not isinstance(leaf, Exception):
            raise
        return FetchError(f"network error: {type(leaf).__name__}: {leaf}", kind="network")


async def _handle(response: httpx.Response, source: SourceToFetch, limits: FetchLimits,
                  now: datetime) -> Fetched | NotModified | FetchError:
    status = response.status_code
    if status == 304:
        return NotModified(
            headers=dict(response.headers),
            etag=response.headers.get("etag") or source.etag,
            last_modified=response.headers.get("last-modified") or source.last_modified,
            permanent_redirect=_permanent_target(response),
        )
    if status == 410:
        return FetchError("HTTP 410 Gone: the feed is gone for good; polling stopped "
                          "until its url changes in feeds.yaml",
                          kind="gone", status=status)
    if status >= 400:
        return FetchError(
            f"HTTP {status} {response.reason_phrase}".strip(), kind="http", status=status,
            retry_after=parse_retry_after(response.headers.get("retry-after"), now),
        )
    if status != 200:
        return FetchError(f"unexpected HTTP {status}", kind="http", status=status)
    # the compressed bytes of the last body count only while that body is the one stored
    seen_wire = source.wire_hash if source.body_hash else None
    body = await _read_capped(response, limits.max_body_size, seen_wire)
    etag, last_modified = response.headers.get("etag"), response.headers.get("last-modified")
    if body is None:  # the very bytes of the last body: nothing new, nothing inflated
        return NotModified(headers=dict(response.headers), etag=etag,
                           last_modified=last_modified,
                           permanent_redirect=_permanent_target(response), status=status)
    return Fetched(
        url=str(response.url), status=status, headers=dict(response.headers), body=body.data,
        etag=etag, last_modified=last_modified, permanent_redirect=_permanent_target(response),
        digest=body.digest, wire_digest=body.wire_digest,
    )


async def _post(client: httpx.AsyncClient, url: str, form: Mapping[str, str],
                limits: FetchLimits) -> int | str:
    problem = _url_problem(url)
    if problem is not None:
        return problem
    try:
        async with asyncio.timeout(limits.timeout):
            async with client.stream("POST", url, data=dict(form)) as response:
                return response.status_code  # the body is not read: a hub says little
    except FetchError as error:
        return str(error)
    except TimeoutError:
        return f"timed out after {limits.timeout:g}s"
    except httpx.HTTPError as error:
        return str(_raw_client_error(error))
    except (OSError, ValueError, OverflowError) as error:
        return f"{type(error).__name__}: {error}"


def post_guarded(requests: Sequence[tuple[str, Mapping[str, str]]], limits: FetchLimits,
                 user_agent: str | None = None) -> list[int | str]:
    """POST each form to its URL (a WebSub hub a feed announced) with the fetcher's
    client: the same private-address guard, deadline and redirect checks as a fetch.
    Per request, the HTTP status, or why it could not be sent. Never raises."""
    async def post_all() -> list[int | str]:
        async with make_client(limits, user_agent, concurrency=4) as client:
            return [await _post(client, url, form, limits) for url, form in requests]

    return asyncio.run(post_all()) if requests else []


def post_forms(url: str, forms: Sequence[Mapping[str, str]],
               timeout: float = 10.0) -> list[int | str]:
    """POST each form to ``url`` over one client (redirects followed): per form, the
    HTTP status, or why it could not be sent. Never raises."""
    answers: list[int | str] = []
    with httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT},
                      follow_redirects=True) as client:
        for form in forms:
            try:
                answers.append(client.post(url, data=dict(form)).status_code)
            except httpx.HTTPError as error:
                answers.append(str(error) or type(error).__name__)
    return answers
