"""plan(): the whole decision about one fetched source, table-tested without HTTP or a
database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.exceptions import AggregatorError, FetchError, ParseError
from aggregator.ingest.plan import body_hash, failure, needs_prepare, plan, result
from aggregator.ingest.prepare import PreparedFeed, prepare_feed
from aggregator.ingest.schedule import PollPolicy
from aggregator.types import Failure, Fetched, NotModified, Outcome, SourceToFetch

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = PollPolicy(interval=timedelta(minutes=30), adaptive=False)
RSS = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<title>Example</title><link>https://example.com/</link><ttl>90</ttl>
<item><title>One</title><link>https://example.com/1</link><guid>g1</guid>
<description>First text</description><pubDate>Tue, 24 Nov 2026 09:00:00 GMT</pubDate></item>
<item><title>Two</title><link>https://example.com/2</link><guid>g2</guid>
<description>Second text</description><pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate></item>
</channel></rss>"""
SOURCE = SourceToFetch(id=7, name="example", url="https://example.com/feed",
                       error_count=2, poll_interval_seconds=1800, fixed_interval=True)
FETCHED = Fetched(url=SOURCE.url, status=200, headers={}, body=RSS, etag='"v2"',
                  last_modified="Tue, 24 Nov 2026 12:00:00 GMT")
NOT_MODIFIED = NotModified(etag='"v1"', last_modified=None, headers={})
PREPARED: PreparedFeed = prepare_feed(RSS, {}, SOURCE.url, NOW)
STORED_G1 = {"g1": next(i.content_hash for i in PREPARED.items if i.guid == "g1")}


def _plan(response, prepared=None, stored=None, source=SOURCE):
    return plan(source, response, prepared, stored or {}, policy=POLICY, now=NOW, jitter=0.5)


@pytest.mark.parametrize(("response", "prepared", "stored", "outcome", "status", "new",
                          "changed"), [
    (NOT_MODIFIED, None, {}, Outcome.NOT_MODIFIED, 304, 0, 0),
    (FETCHED, None, {}, Outcome.NOT_MODIFIED, 200, 0, 0),  # the same body again
    # the same compressed bytes again, known before inflating
    (NotModified(etag=None, status=200), None, {}, Outcome.NOT_MODIFIED, 200, 0, 0),
    (FETCHED, PREPARED, {}, Outcome.OK, 200, 2, 0),
    (FETCHED, PREPARED, STORED_G1, Outcome.OK, 200, 1, 0),
    (FETCHED, PREPARED, {"g1": "an older hash"}, Outcome.OK, 200, 1, 1),
    (FetchError("HTTP 404 Not Found", kind="http", status=404), None, {}, Outcome.ERROR,
     404, 0, 0),
    (FetchError("HTTP 410 Gone", kind="gone", status=410), None, {}, Outcome.GONE, 410, 0, 0),
    (ParseError("not a feed: the server sent an HTML page"), None, {}, Outcome.ERROR, None,
     0, 0),
])
def test_each_kind_of_response_gets_its_outcome(response, prepared, stored, outcome, status,
                                                new, changed) -> None:
    update = _plan(response, prepared, stored)
    assert (update.outcome, update.http_status) == (outcome, status)
    assert (len(update.new_items), len(update.changed_items)) == (new, changed)
    assert update.now == NOW


def test_a_304_keeps_the_validators_it_was_sent_and_polls_again_at_the_interval() -> None:
    update = _plan(NOT_MODIFIED)
    assert (update.etag, update.last_modified, update.body_hash) == ('"v1"', None, None)
    assert update.next_fetch_at is not None
    assert timedelta(minutes=20) <= update.next_fetch_at - NOW <= timedelta(minutes=40)
    assert update.error is None and update.feed is None


def test_a_new_body_stores_its_hash_feed_and_rhythm_and_the_keys_of_new_items_only() -> None:
    update = _plan(FETCHED, PREPARED, STORED_G1)
    assert update.body_hash == body_hash(RSS)
    assert update.feed is not None and update.feed.title == "Example"
    assert update.feed_ttl_seconds == 90 * 60
    assert [i.guid for i in update.new_items] == ["g2"]
    assert set(update.story_keys) <= {"g2"} and set(update.fingerprints) <= {"g2"}
    assert update.etag == '"v2"'


def test_a_body_records_its_wire_hash_with_its_body_hash_and_the_same_bytes_neither() -> None:
    compressed = Fetched(url=SOURCE.url, status=200, headers={}, body=RSS,
                         digest=body_hash(RSS), wire_digest="w" * 64)
    same_body = _plan(compressed)  # the same body again, compressed otherwise
    assert (same_body.body_hash, same_body.wire_hash) == (body_hash(RSS), "w" * 64)
    assert _plan(compressed, PREPARED).wire_hash == "w" * 64
    plain = _plan(FETCHED)  # not compressed: no wire hash, so the stored one is dropped
    assert (plain.body_hash, plain.wire_hash) == (body_hash(RSS), None)
    same_bytes = _plan(NotModified(etag='"v3"', status=200))
    assert (same_bytes.body_hash, same_bytes.wire_hash, same_bytes.etag) == (None, None,
                                                                            '"v3"')


def test_an_error_backs_off_counts_this_failure_and_keeps_retry_after() -> None:
    later = NOW + timedelta(hours=3)
    update = _plan(FetchError("HTTP 503", kind="http", status=503, retry_after=later))
    assert update.error == "HTTP 503"
    assert update.next_fetch_at is not None and update.next_fetch_at >= later
    plain = _plan(FetchError("timed out after 2s", kind="timeout"))
    assert plain.next_fetch_at is not None
    assert plain.next_fetch_at - NOW > timedelta(minutes=30)  # backed off past the interval


def test_gone_stops_polling() -> None:
    assert _plan(FetchError("HTTP 410 Gone", kind="gone", status=410)).next_fetch_at is None


def test_a_moved_feed_is_recorded_on_every_kind_of_success() -> None:
    moved = "https://example.org/feed"
    for response in (NotModified(etag=None, last_modified=None, headers={},
                                 permanent_redirect=moved),
                     Fetched(url=moved, status=200, headers={}, body=RSS,
                             permanent_redirect=moved)):
        assert _plan(response).moved_to == moved


def test_the_plan_does_not_depend_on_anything_but_its_arguments() -> None:
    assert _plan(FETCHED, PREPARED, STORED_G1) == _plan(FETCHED, PREPARED, STORED_G1)


@pytest.mark.parametrize(("body_hash_stored", "response", "expected"), [
    (None, FETCHED, True),
    (body_hash(RSS), FETCHED, False),
    (None, NOT_MODIFIED, False),
    (None, FetchError("x"), False),
])
def test_only_a_new_body_needs_preparing(body_hash_stored, response, expected) -> None:
    source = SourceToFetch(id=1, name="s", url=SOURCE.url, body_hash=body_hash_stored)
    assert needs_prepare(source, response) is expected


@pytest.mark.parametrize(("error", "expected"), [
    (FetchError("HTTP 429", kind="http", status=429, retry_after=NOW),
     Failure("HTTP 429", "http", 429, NOW)),
    (ParseError("not a feed"), Failure("not a feed", "not_a_feed")),
    (AggregatorError("database is locked"), Failure("database is locked", "error")),
    (KeyError("guid"), Failure("internal error: KeyError('guid')", "internal")),
])
def test_errors_become_values_with_their_kind_and_status(error, expected) -> None:
    assert failure(error) == expected
    assert str(failure(error)) == expected.message


def test_the_result_counts_what_the_update_writes() -> None:
    update = _plan(FETCHED, PREPARED, {"g1": "an older hash"})
    told = result(SOURCE, update)
    assert (told.source, told.outcome, told.new, told.updated, told.error) == (
        "example", Outcome.OK, 1, 1, None)
