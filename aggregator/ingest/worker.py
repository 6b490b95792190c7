"""A parse worker's side of the pool (ingest/pool.py): read a job, run it, answer.

Started as ``python -c "from aggregator.ingest.worker import serve; serve()"``, it
imports nothing but this module until a job names what it needs. A job and its answer
are pickles, each after its length (8 bytes, big-endian): the job ``(function, args)``
on stdin, the answer ``(True, value)`` or ``(False, exception, traceback text)`` on what
was stdout (fd 1 then points at stderr, so a stray print cannot corrupt an answer).

The worker leaves when its stdin ends: the pool shut down, or the process that started
it is gone, however it ended (a pipe's end closes with its last holder)."""

from __future__ import annotations

import importlib
import os
import pickle
import queue
import signal
import struct
import sys
import threading
import traceback
from typing import IO, Any

HEADER = struct.Struct(">Q")


def run_named(target: str, *args: Any) -> Any:
    """In a worker: call ``target`` ("package.module:function") with ``args``.

    What the parent sends instead of the function itself: pickling a function needs its
    module imported in the parent, and the parsing libraries (feedparser, lxml, numpy:
    about 40 MB resident) are needed only in the workers."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args)


def read_message(stream: IO[bytes]) -> bytes | None:
    """One length-prefixed message; None at the end of the stream (also mid-message)."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    body = stream.read(size)
    return body if len(body) == size else None


def write_message(stream: IO[bytes], message: bytes) -> None:
    stream.write(HEADER.pack(len(message)))
    stream.write(message)
    stream.flush()


def _answer(job: bytes) -> bytes:
    try:
        function, args = pickle.loads(job)
        value = function(*args)
    except Exception as error:  # the caller's to handle: ParseError, a bug
        text = traceback.format_exc()
        try:
            return pickle.dumps((False, error, text), pickle.HIGHEST_PROTOCOL)
        except Exception:  # an exception that does not pickle: its text at least
            return pickle.dumps((False, RuntimeError(repr(error)), text),
                                pickle.HIGHEST_PROTOCOL)
    return pickle.dumps((True, value), pickle.HIGHEST_PROTOCOL)


def _read_jobs(stream: IO[bytes], jobs: queue.SimpleQueue[bytes | None]) -> None:
    """Read jobs as the parent sends them (it sends the next before this one's answer:
    the two pipes never both fill), then None at the end of stdin."""
    while (job := read_message(stream)) is not None:
        jobs.put(job)
    jobs.put(None)


def serve() -> None:
    """Answer jobs until stdin ends. Ctrl-C is the parent's to handle: it reaches the
    whole process group, and the parent ends its workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    jobs: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(target=_read_jobs, args=(sys.stdin.buffer, jobs), daemon=True).start()
    while (job := jobs.get()) is not None:
        answer = _answer(job)
        del job
        try:
            write_message(answers, answer)
        except BrokenPipeError:  # the parent is gone
            return
