"""The feed server for the benchmarks: a small asyncio HTTP/1.1 server, one process.

    python -m bench.ingest.server CORPUS_DIR --port P [--hosts H] [--latency S]
                                  [--no-validators] [--no-keepalive] [--reuse-port]

- Serves ``/feeds/NNNN.xml`` from the corpus, every body and its gzip prepared at
  start-up, so answering costs a dictionary look-up and one write.
- ETag (strong, from the body) and Last-Modified; a matching If-None-Match (or,
  without it, an If-Modified-Since not older than Last-Modified) gets a 304.
  ``--no-validators`` answers 200 with the full body whatever the request says.
- gzip when the request accepts it.
- ``--latency S`` delays every response by S seconds with a timer, so a delayed
  response never holds up another request.
- ``--no-keepalive`` answers ``Connection: close`` and closes after each response.
- Listens on 127.0.0.1 and, with ``--hosts H``, on H loopback addresses
  127.77.X.Y (the whole 127/8 is loopback on Linux), so a client sees H distinct
  hosts, each with its own connection; ``host_url(i, ...)`` gives feed i's URL.
- ``--reuse-port`` lets several of these processes share the sockets (SO_REUSEPORT):
  the kernel spreads connections across them.

It prints ``READY <pid>`` on stdout once it listens, and stops on SIGTERM/SIGINT. On
SIGHUP it reads the corpus directory again (a new ``manifest.json`` and files: the
feeds of another day, for ``bench/retention.py``) and prints ``RELOADED <feeds>``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import signal
import sys
from email.utils import parsedate_to_datetime
from pathlib import Path

LOOPBACK_PREFIX = "127.77"


def host_address(index: int, hosts: int) -> str:
    """The loopback address feed ``index`` is served on (127.0.0.1 when hosts <= 1)."""
    if hosts <= 1:
        return "127.0.0.1"
    slot = index % hosts
    return f"{LOOPBACK_PREFIX}.{slot // 250}.{slot % 250 + 1}"


def addresses(hosts: int) -> list[str]:
    return ["127.0.0.1"] + ([host_address(i, hosts) for i in range(hosts)] if hosts > 1 else [])


def feed_url(index: int, port: int, hosts: int) -> str:
    return f"http://{host_address(index, hosts)}:{port}/feeds/{index:04d}.xml"


class _Feed:
    __slots__ = ("etag", "lm_time", "not_modified", "ok_gzip", "ok_plain")

    def __init__(self, body: bytes, gz: bytes, content_type: str, last_modified: str,
                 connection: bytes) -> None:
        self.etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        self.lm_time = parsedate_to_datetime(last_modified)
        common = (f"ETag: {self.etag}\r\nLast-Modified: {last_modified}\r\n"
                  "Cache-Control: max-age=0\r\nVary: Accept-Encoding\r\n").encode() + connection
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n".encode() + common
        self.ok_plain = head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        self.ok_gzip = (head + f"Content-Encoding: gzip\r\nContent-Length: {len(gz)}\r\n\r\n"
                        .encode() + gz)
        self.not_modified = b"HTTP/1.1 304 Not Modified\r\n" + common + b"\r\n"


class FeedProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive; GET and HEAD only; no request bodies."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while not self.closing:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 65536:
                    self._write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                b"Content-Length: 0\r\nConnection: close\r\n\r\n", True)
                return
            head = self.buffer[:end]
            self.buffer = self.buffer[end + 4:]
            self._request(head)

    def _request(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        server = self.server
        close = not server.keepalive or headers.get(b"connection", b"").lower() == b"close"
        if len(parts) > 2 and parts[2] == b"HTTP/1.0" and \
                headers.get(b"connection", b"").lower() != b"keep-alive":
            close = True
        response = server.respond(path, headers)
        if parts[0] == b"HEAD":
            response = response.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
        if close:
            self.closing = True
        if server.latency > 0:
            asyncio.get_running_loop().call_later(server.latency, self._write, response, close)
        else:
            self._write(response, close)

    def _write(self, response: bytes, close: bool) -> None:
        if self.transport is None:
            return
        self.transport.write(response)
        if close:
            self.transport.close()


class FeedServer:
    def __init__(self, corpus_dir: Path, *, latency: float, validators: bool,
                 keepalive: bool) -> None:
        self.latency = latency
        self.validators = validators
        self.keepalive = keepalive
        self.corpus_dir = corpus_dir
        connection = b"" if keepalive else b"Connection: close\r\n"
        self.feeds: dict[str, _Feed] = {}
        self.load()
        self.not_found = (b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                          + connection + b"Content-Length: 10\r\n\r\nnot found\n")
        self.ok = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" + connection
                   + b"Content-Length: 3\r\n\r\nok\n")
        self.requests = 0

    def load(self) -> None:
        """(Re)read every feed of the corpus directory; swaps the whole set at once."""
        connection = b"" if self.keepalive else b"Connection: close\r\n"
        manifest = json.loads((self.corpus_dir / "manifest.json").read_text())
        feeds = {}
        for f in manifest["files"]:
            body = (self.corpus_dir / f["file"]).read_bytes()
            gz = (self.corpus_dir / (f["file"] + ".gz")).read_bytes()
            feeds[f["path"]] = _Feed(body, gz, f["content_type"], f["last_modified"],
                                     connection)
        self.feeds = feeds

    def reload(self) -> None:
        self.load()
        print(f"RELOADED {len(self.feeds)}", flush=True)

    def respond(self, path: str, headers: dict[bytes, bytes]) -> bytes:
        self.requests += 1
        feed = self.feeds.get(path)
        if feed is None:
            return self.ok if path == "/healthz" else self.not_found
        if self.validators and self._not_modified(feed, headers):
            return feed.not_modified
        if b"gzip" in headers.get(b"accept-encoding", b""):
            return feed.ok_gzip
        return feed.ok_plain

    @staticmethod
    def _not_modified(feed: _Feed, headers: dict[bytes, bytes]) -> bool:
        if_none_match = headers.get(b"if-none-match")
        if if_none_match is not None:
            tags = [t.strip().removeprefix(b"W/") for t in if_none_match.split(b",")]
            return feed.etag.encode() in tags or b"*" in tags
        since = headers.get(b"if-modified-since")
        if since is None:
            return False
        try:
            return feed.lm_time <= parsedate_to_datetime(since.decode("latin-1"))
        except (TypeError, ValueError, IndexError):
            return False


async def serve(args: argparse.Namespace) -> None:
    server = FeedServer(Path(args.corpus), latency=args.latency,
                        validators=not args.no_validators, keepalive=not args.no_keepalive)
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(
        lambda: FeedProtocol(server), host=addresses(args.hosts), port=args.port,
        reuse_address=True, reuse_port=args.reuse_port, backlog=4096)
    stop = asyncio.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    loop.add_signal_handler(signal.SIGHUP, server.reload)
    print(f"READY {os.getpid()}", flush=True)
    async with listener:
        await stop.wait()
    print(f"served {server.requests} requests", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hosts", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--no-validators", action="store_true")
    parser.add_argument("--no-keepalive", action="store_true")
    parser.add_argument("--reuse-port", action="store_true")
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
