"""The httpx adapter: one conditional GET per source, with limits.

- ETag and Last-Modified are sent back exactly as received (conditional GET).
- Redirects are followed on purpose, at most ``max_redirects``; a chain made only
  of permanent redirects (301/308) is reported so the source can be moved.
- The whole request has a deadline (a server dripping bytes cannot hold a worker),
  and the body is streamed and counted after decompression: never read unbounded.
Every failure comes back as a FetchError value, never raised.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import httpx

from aggregator import __version__
from aggregator.exceptions import FetchError
from aggregator.schedule import parse_retry_after
from aggregator.types import Fetched, NotModified, SourceToFetch

USER_AGENT = f"aggregator/{__version__} (feed aggregator; +https://github.com/aggregator/aggregator)"
ACCEPT = ("application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
          "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5")
PERMANENT_REDIRECTS = frozenset({301, 308})


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float = 30.0  # seconds for the whole request, body included
    connect_timeout: float = 10.0
    max_body_size: int = 15 * 1024 * 1024
    max_redirects: int = 5


def make_client(limits: FetchLimits, user_agent: str | None = None,
                concurrency: int = 16) -> httpx.AsyncClient:
    """One client for one update run: shared connection pool, our headers, our limits."""
    return httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        timeout=httpx.Timeout(limits.timeout, connect=min(limits.connect_timeout, limits.timeout)),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        headers={"User-Agent": user_agent or USER_AGENT, "Accept": ACCEPT,
                 "Accept-Encoding": "gzip, deflate"},
        trust_env=False,
    )


def _permanent_target(response: httpx.Response) -> str | None:
    history = response.history
    if history and all(r.status_code in PERMANENT_REDIRECTS for r in history):
        return str(response.url)
    return None


async def _read_capped(response: httpx.Response, cap: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap and "content-encoding" not in response.headers:
        raise FetchError(f"body too large: {int(declared)} bytes declared, limit {cap}",
                         kind="too_large", status=response.status_code)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > cap:
            raise FetchError(f"body too large: more than {cap} bytes", kind="too_large",
                             status=response.status_code)
    return bytes(body)


async def fetch(client: httpx.AsyncClient, source: SourceToFetch, limits: FetchLimits,
                now: datetime) -> Fetched | NotModified | FetchError:
    """GET a source's feed. Never raises for anything the network or server does."""
    headers: dict[str, str] = {}
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    try:
        async with asyncio.timeout(limits.timeout):
            async with client.stream("GET", source.url, headers=headers) as response:
                if response.status_code == 304:
                    return NotModified(
                        headers=dict(response.headers),
                        etag=response.headers.get("etag") or source.etag,
                        last_modified=response.headers.get("last-modified")
                        or source.last_modified,
                    )
                if response.status_code >= 400:
                    return FetchError(
                        f"HTTP {response.status_code} {response.reason_phrase}".strip(),
                        kind="http", status=response.status_code,
                        retry_after=parse_retry_after(response.headers.get("retry-after"), now),
                    )
                if response.status_code != 200:
                    return FetchError(f"unexpected HTTP {response.status_code}", kind="http",
                                      status=response.status_code)
                body = await _read_capped(response, limits.max_body_size)
                return Fetched(
                    url=str(response.url),
                    status=response.status_code,
                    headers=dict(response.headers),
                    body=body,
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                    permanent_redirect=_permanent_target(response),
                )
    except FetchError as error:
        return error
    except TimeoutError:
        return FetchError(f"timed out after {limits.timeout:g}s", kind="timeout")
    except httpx.TooManyRedirects:
        return FetchError(f"too many redirects (more than {limits.max_redirects}, or a loop)",
                          kind="redirects")
    except httpx.TimeoutException as error:
        return FetchError(f"timed out ({type(error).__name__})", kind="timeout")
    except httpx.InvalidURL as error:
        return FetchError(f"invalid URL: {error}", kind="url")
    except httpx.DecodingError as error:
        return FetchError(f"could not decode the response body: {error}", kind="decoding")
    except httpx.HTTPError as error:
        return FetchError(f"{type(error).__name__}: {error or 'connection failed'}",
                          kind="network")
    except OSError as error:
        return FetchError(f"network error: {error}", kind="network")
