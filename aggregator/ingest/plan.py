"""The decision about one fetched source, as one pure function (reader's "decider").

The shell (``aggregator.update``) looks up what the decision needs, calls :func:`plan`, and writes
the :class:`SourceUpdate` it returns in one transaction. Nothing here does I/O; the
clock and the jitter come in as arguments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Set
from dataclasses import replace
from datetime import datetime, timedelta

from aggregator.exceptions import AggregatorError, FetchError, UpdateError
from aggregator.ingest.schedule import PollPolicy, ServerHints, freshness, next_fetch_at
from aggregator.stories.dedupe import decide
from aggregator.types import (
    Failure,
    Fetched,
    NotModified,
    Outcome,
    PreparedFeed,
    SourceToFetch,
    SourceUpdate,
    UpdateResult,
)

Response = Fetched | NotModified | AggregatorError


def body_hash(body: bytes) -> str:
    """The hash a body is compared by, to skip parsing what a server sent again."""
    return hashlib.sha256(body).hexdigest()


def _digest(response: Fetched) -> str:
    return response.digest or body_hash(response.body)


def without_validators(source: SourceToFetch) -> SourceToFetch:
    """``source`` fetched as if for the first time: no ETag or Last-Modified sent, no
    body skipped as seen (a full_text source whose items wait for their pages: a 304, or
    the same body, would leave them waiting until the feed changes)."""
    return replace(source, etag=None, last_modified=None, body_hash=None, wire_hash=None)


def needs_prepare(source: SourceToFetch, response: Response) -> bool:
    """Whether the response carries a body that is new since the last fetch."""
    return isinstance(response, Fetched) and _digest(response) != source.body_hash


def error_value(error: BaseException) -> AggregatorError:
    """Any exception as the error recorded on its source: a bug in one source's update
    is that source's ``internal`` error."""
    if isinstance(error, AggregatorError):
        return error
    return UpdateError(f"internal error: {error!r}", kind="internal")


def failure(error: BaseException) -> Failure:
    """An error as a value: its message, kind, HTTP status and Retry-After."""
    error = error_value(error)
    if isinstance(error, FetchError):
        return Failure(str(error), error.kind, error.status, error.retry_after)
    return Failure(str(error), getattr(error, "kind", "error"))


def plan(source: SourceToFetch, response: Response, prepared: PreparedFeed | None,
         stored: Mapping[str, str], *, policy: PollPolicy, now: datetime,
         jitter: float, pruned: Set[str] = frozenset()) -> SourceUpdate:
    """Everything one fetch outcome changes about its source.

    ``prepared`` is the feed of a new body (None for an error, a 304 or the same body
    again); ``stored`` the content hashes of the source's stored items by guid;
    ``pruned`` the guids of items retention pruned (not stored again).
    """
    if isinstance(response, AggregatorError):
        error = failure(response)
        outcome = Outcome.GONE if error.kind == "gone" else Outcome.ERROR
        due = next_fetch_at(now, policy, outcome, source.error_count + 1, jitter,
                            hints=ServerHints(retry_after=error.retry_after),
                            pushed_until=source.pushed_until)
        return SourceUpdate(outcome=outcome, now=now, next_fetch_at=due, error=error.message,
                            http_status=error.status)
    ttl = prepared.ttl if prepared else (
        timedelta(seconds=source.feed_ttl_seconds) if source.feed_ttl_seconds else None)
    weekly = prepared.weekly_entries if prepared else source.weekly_entries
    hints = ServerHints(fresh_for=freshness(response.headers, now), feed_ttl=ttl)
    polled = Outcome.NOT_MODIFIED if isinstance(response, NotModified) else Outcome.OK
    polled_update = SourceUpdate(
        outcome=Outcome.NOT_MODIFIED, now=now, etag=response.etag,
        last_modified=response.last_modified, moved_to=response.permanent_redirect,
        next_fetch_at=next_fetch_at(now, policy, polled, 0, jitter, weekly_entries=weekly,
                                    hints=hints, pushed_until=source.pushed_until))
    if isinstance(response, NotModified):  # a 304, or the same compressed bytes again
        return replace(polled_update, http_status=response.status)
    polled_update = replace(polled_update, http_status=response.status,
                            body_hash=_digest(response),
                            wire_hash=response.wire_digest or None)
    if prepared is None:  # the same body again (a server that ignores validators)
        return polled_update
    decision = decide(prepared.items, stored, pruned)
    new = {i.guid for i in decision.new}
    fresh = new | {i.guid for i in decision.changed}  # a changed text is matched again
    return replace(
        polled_update, outcome=Outcome.OK, feed=prepared.feed,
        weekly_entries=prepared.weekly_entries,
        feed_ttl_seconds=int(ttl.total_seconds()) if ttl else None,
        new_items=decision.new, changed_items=decision.changed,
        story_keys={g: k for g, k in prepared.story_keys.items() if g in new},
        fingerprints={g: f for g, f in prepared.fingerprints.items() if g in fresh},
        credits=prepared.credits)


def result(source: SourceToFetch, update: SourceUpdate,
           error: Failure | None = None) -> UpdateResult:
    """What the caller is told about an update that was written."""
    return UpdateResult(source.name, update.outcome, new=len(update.new_items),
                        updated=len(update.changed_items), error=error,
                        moved_to=update.moved_to)
