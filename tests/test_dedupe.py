from __future__ import annotations

import itertools

from aggregator.stories.dedupe import decide, shared_urls, story_keys, unique_items
from aggregator.types import ItemData


def _item(guid: str, url: str | None = None, digest: str = "h") -> ItemData:
    return ItemData(guid=guid, url=url, canonical_url=url, title="t", author=None,
                    content_html="", summary_text="", published_at=None, updated_at=None,
                    content_hash=digest)


def test_an_exact_duplicate_in_one_feed_is_kept_once() -> None:
    items = unique_items([_item("a", digest="1"), _item("a", digest="1"), _item("b")])
    assert [i.guid for i in items] == ["a", "b"]


def test_repeated_guids_get_keys_that_do_not_depend_on_feed_order() -> None:
    entries = [_item("same", "https://e.com/1", "1"), _item("same", "https://e.com/2", "2"),
               _item("same", None, "3333333333333333aaaa")]
    keys = {frozenset(i.guid for i in unique_items(order))
            for order in itertools.permutations(entries)}
    assert keys == {frozenset({"same#https://e.com/1", "same#https://e.com/2",
                               "same#3333333333333333"})}


def test_decide_sorts_new_changed_and_unchanged() -> None:
    decision = decide([_item("a", digest="1"), _item("b", digest="2"), _item("c", digest="3")],
                      {"a": "1", "b": "old"})
    assert [i.guid for i in decision.new] == ["c"]
    assert [i.guid for i in decision.changed] == ["b"]
    assert decision.unchanged == 1


def test_story_keys_use_canonical_urls_and_only_global_guids() -> None:
    assert story_keys(_item("12345", "https://e.com/a")) == ("url:https://e.com/a",)
    assert story_keys(_item("tag:e.com,2026:1", None)) == ("guid:tag:e.com,2026:1",)
    assert story_keys(_item("https://e.com/a", "https://e.com/a")) == (
        "url:https://e.com/a", "guid:https://e.com/a")
    assert story_keys(_item("sha256:abc", None)) == ()


def test_home_page_links_and_links_shared_in_one_feed_never_join_stories() -> None:
    assert story_keys(_item("1", "https://e.com/")) == ()
    items = [_item("1", "https://e.com/section"), _item("2", "https://e.com/section"),
             _item("3", "https://e.com/own")]
    ambiguous = shared_urls(items)
    assert ambiguous == {"https://e.com/section"}
    assert story_keys(items[0], ambiguous) == ()
    assert story_keys(items[2], ambiguous) == ("url:https://e.com/own",)
