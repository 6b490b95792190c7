"""Soak: `aggregator run` for a minute against a server that misbehaves in every way.

    python -m bench.soak [--seconds 90]

Checks that the service never stalls (the feed endpoint answers all the time), loses
no data (every item of the well-behaved feeds is stored) and prints each source's
state and next fetch time at the end.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.feedserver import FEEDS, FeedServer, Route, endless_body, gzip_bomb, slow_drip


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=90)
    args = parser.parse_args()
    server = FeedServer().start()
    rss = (FEEDS / "rss2.xml").read_bytes()
    good = {f"good{i}": server.serve(f"/good{i}.xml", rss.replace(b"example-100",
                                                                   f"g{i}-".encode()))
            for i in range(5)}
    server.serve("/ru.xml", (FEEDS / "ru-cp1251.xml").read_bytes()
                 .replace(b' encoding="windows-1251"', b""), "text/xml")
    server.routes["/e404"] = Route(status=404)
    server.routes["/e410"] = Route(status=410)
    server.routes["/e429"] = Route(status=429, headers={"Retry-After": "120"})
    server.routes["/e503"] = Route(status=503, headers={
        "Retry-After": "Wed, 01 Jan 2031 00:00:00 GMT"})
    server.routes["/e500"] = Route(status=500)
    server.routes["/loop-a"] = Route(status=301, headers={"Location": "/loop-b"})
    server.routes["/loop-b"] = Route(status=302, headers={"Location": "/loop-a"})
    server.routes["/moved"] = Route(status=301, headers={"Location": "/good0.xml"})
    server.routes["/endless"] = Route(handler=endless_body)
    bomb = gzip.compress(b"\0" * 100_000_000)
    server.routes["/bomb"] = Route(handler=gzip_bomb(bomb))
    server.routes["/drip"] = Route(handler=slow_drip)
    server.serve("/html", b"<!doctype html><html><body>hi</body></html>", "text/html")
    server.serve("/empty", b"")
    bad = {name: path if path.startswith("http") else server.url(path) for name, path in [
        ("e404", "/e404"), ("e410", "/e410"), ("e429", "/e429"), ("e503", "/e503"),
        ("e500", "/e500"), ("loop", "/loop-a"), ("moved", "/moved"),
        ("endless", "/endless"), ("bomb", "/bomb"), ("drip", "/drip"), ("html", "/html"),
        ("empty", "/empty"), ("ru", "/ru.xml"), ("refused", "http://127.0.0.1:9/x.xml")]}
    port = _port()
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    lines = ["settings:", "  allow_private_networks: true", "  timeout: 3s",
             "  poll_interval: 1m", "  max_body_size: 2000000", f"  listen: 127.0.0.1:{port}",
             "sources:"]
    for name, url in {**good, **bad}.items():
        lines += [f"  - name: {name}", f"    url: {url}"]
    lines += ["outputs:", "  - name: all", "    title: All", "    limit: 500"]
    config = work / "feeds.yaml"
    config.write_text("\n".join(lines) + "\n")
    db = f"sqlite:///{work / 'soak.db'}"
    log = (work / "run.log").open("w")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "run", "--config", str(config), "--db", db],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    slowest = 0.0
    answered = failed = 0
    with httpx.Client(timeout=5) as client:
        while time.monotonic() - started < args.seconds:
            t0 = time.monotonic()
            try:
                status = client.get(f"http://127.0.0.1:{port}/feeds/all.atom").status_code
                answered += status == 200
            except httpx.HTTPError:
                failed += bool(answered)  # before the first answer it is still starting
            if answered:
                slowest = max(slowest, time.monotonic() - t0)
            time.sleep(0.25)
    process.send_signal(signal.SIGTERM)
    code = process.wait(60)
    log.close()
    states = json.loads(subprocess.run(
        [sys.executable, "-m", "aggregator", "sources", "--json", "--config", str(config),
         "--db", db], capture_output=True, text=True, check=True).stdout)
    print(f"soak: {args.seconds:.0f}s, {len(states)} sources, feed endpoint answered "
          f"{answered} times, {failed} failures, slowest answer {slowest * 1000:.0f} ms, "
          f"exit code after SIGTERM {code}")
    print(f"{'source':10} {'items':>5} {'errors':>6}  {'status':13} next fetch (UTC)  note")
    for s in states:
        note = (s["last_error"] or "")[:70]
        if s["moved_to"]:
            note = f"moved to {s['moved_to']}"
        when = "stopped" if s["stopped"] else s["next_fetch_at"][5:16].replace("T", " ")
        print(f"{s['name']:10} {s['items']:>5} {s['error_count']:>6}  "
              f"{(s['last_outcome'] or '-'):13} {when:16}  {note}")
    lost = [s["name"] for s in states if s["name"].startswith("good") and s["items"] != 3]
    print("data lost:" , lost or "none", "| traceback in log:",
          "Traceback" in (work / "run.log").read_text())
    server.stop()
    return 0 if not lost and code == 0 and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
