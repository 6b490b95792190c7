"""Editing feeds.yaml: the file keeps every byte it had, apart from the entry added or removed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.config import load_config, parse_config
from aggregator.config.edit import (
    NEW_FILE,
    NewSource,
    add_sources,
    add_sources_text,
    remove_source,
    remove_source_text,
)
from aggregator.exceptions import ConfigError

SHIPPED = Path(__file__).parents[1] / "feeds.yaml"
TURANTIMES = NewSource("turantimes", "https://turantimes.kz/feed/", "Turantimes.kz", ("ru", "kz"))
TURANTIMES_LINES = ("  - name: turantimes\n"
                    "    url: https://turantimes.kz/feed/\n"
                    "    title: Turantimes.kz\n"
                    "    tags: [ru, kz]\n")


def _comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def _names(text: str) -> list[str]:
    return [s.name for s in parse_config(text).sources]


def _inserted(before: str, after: str) -> str:
    """What was inserted into ``before`` to give ``after``, which keeps every byte of it.

    Of the equivalent answers, the one that starts a line (when there is one).
    """
    start = 0
    while start < len(before) and before[start] == after[start]:
        start += 1
    assert after.endswith(before[start:]), "the text after the insertion changed"
    chunk = after[start:len(after) - (len(before) - start)]
    while start > 0 and before[start - 1] != "\n" and chunk and chunk[-1] == before[start - 1]:
        start -= 1
        chunk = before[start] + chunk[:-1]
    return chunk


# ---- adding --------------------------------------------------------------------------


def test_adding_to_the_shipped_file_inserts_only_the_new_entry(tmp_path: Path) -> None:
    original = SHIPPED.read_text(encoding="utf-8")
    path = tmp_path / "feeds.yaml"
    path.write_text(original, encoding="utf-8")
    assert add_sources(path, [TURANTIMES]) == ["turantimes"]
    edited = path.read_text(encoding="utf-8")
    assert _inserted(original, edited) == TURANTIMES_LINES
    # right after the last source, before the blank line and `outputs:`
    assert TURANTIMES_LINES + "\noutputs:\n" in edited
    assert _comments(edited) == _comments(original)
    config = load_config(path)
    assert [s.name for s in config.sources][-2:] == ["python-insider", "turantimes"]
    assert config.source("turantimes") is not None
    assert config.source("turantimes").title == "Turantimes.kz"  # type: ignore[union-attr]


STYLES = {
    "offset 0, comments between and after": (
        "# my feeds\n"
        "sources:\n"
        "# Russian\n"
        "- name: izvestia   # the main one\n"
        "  url: https://iz.ru/xml/rss/all.xml\n"
        "  # poll_interval: 5m   (commented out, belongs to izvestia)\n"
        "# Kazakh\n"
        "- name: kazinform\n"
        "  url: https://www.inform.kz/rss/rus.xml\n"
        "  tags:\n"
        "  - ru\n"
        "  - kz\n"
        "  # tags end\n"
        "\n"
        "# - name: tass\n"
        "#   url: https://tass.ru/rss/v2.xml\n"
        "outputs:\n"
        "- name: all\n"
        "  title: All\n",
        "- name: turantimes\n"
        "  url: https://turantimes.kz/feed/\n"
        "  title: Turantimes.kz\n"
        "  tags:\n"
        "  - ru\n"
        "  - kz\n"),
    "four spaces, quoted strings, sources last, no final newline": (
        "settings:\n"
        "    base_url: 'http://127.0.0.1:8080/'\n"
        "sources:\n"
        "    -   name: \"izvestia\"\n"
        "        url: 'https://iz.ru/xml/rss/all.xml'\n"
        "        tags: [ru]",
        "\n"
        "    -   name: turantimes\n"
        "        url: https://turantimes.kz/feed/\n"
        "        title: Turantimes.kz\n"
        "        tags: [ru, kz]\n"),
    "windows line ends": (
        "sources:\r\n"
        "  - name: izvestia\r\n"
        "    url: https://iz.ru/xml/rss/all.xml\r\n"
        "\r\n"
        "outputs:\r\n"
        "  - name: all\r\n"
        "    title: All\r\n",
        "  - name: turantimes\r\n"
        "    url: https://turantimes.kz/feed/\r\n"
        "    title: Turantimes.kz\r\n"
        "    tags: [ru, kz]\r\n"),
    "an empty list with a comment": (
        "settings:\n"
        "  poll_interval: 30m\n"
        "\n"
        "sources: []   # none yet\n"
        "\n"
        "outputs:\n"
        "  - name: all\n"
        "    title: All\n",
        None),
    "no sources key at all": (
        "# only outputs so far\n"
        "outputs:\n"
        "  - name: all\n"
        "    title: All\n",
        "\n"
        "sources:\n"
        "  - name: turantimes\n"
        "    url: https://turantimes.kz/feed/\n"
        "    title: Turantimes.kz\n"
        "    tags: [ru, kz]\n"),
    "an empty file": ("", None),
}


@pytest.mark.parametrize(("text", "expected"), list(STYLES.values()), ids=list(STYLES))
def test_adding_keeps_the_style_and_every_comment(text: str, expected: str | None) -> None:
    edited, added = add_sources_text(text, [TURANTIMES])
    assert added == ["turantimes"]
    assert _names(edited) == [*_names(text), "turantimes"]
    assert _comments(edited) == _comments(text)
    if expected is not None:
        assert _inserted(text, edited) == expected
    else:  # the key line changed: everything else is still there, line for line
        kept = [line for line in text.splitlines() if not line.startswith("sources:")]
        assert all(line in edited.splitlines() for line in kept)
    assert add_sources_text(edited, [])[0] == edited


def test_an_empty_list_becomes_a_block_list_keeping_its_comment() -> None:
    text = STYLES["an empty list with a comment"][0]
    edited, _ = add_sources_text(text, [TURANTIMES])
    assert "sources:  # none yet\n" + TURANTIMES_LINES + "\noutputs:\n" in edited


def test_a_flow_style_list_stays_flow_style() -> None:
    text = "sources: [{name: izvestia, url: 'https://iz.ru/xml/rss/all.xml'}]\n"
    edited, _ = add_sources_text(text, [NewSource("kazinform", "https://www.inform.kz/rss")])
    assert _names(edited) == ["izvestia", "kazinform"]
    assert edited.count("\n") == 1 and edited.startswith("sources: [")


def test_several_sources_at_once_in_order() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    new = [TURANTIMES, NewSource("zakon", "https://www.zakon.kz/rss/", None, ()),
           NewSource("lenta", "https://lenta.ru/rss", "Лента.ру: «Главное»", ("ru", "news"))]
    edited, added = add_sources_text(text, new)
    assert added == ["turantimes", "zakon", "lenta"]
    assert _names(edited)[-3:] == added
    lenta = parse_config(edited).source("lenta")
    assert lenta is not None and lenta.title == "Лента.ру: «Главное»"
    assert "\n  - name: zakon\n    url: https://www.zakon.kz/rss/\n  - name: lenta\n" in edited


def test_a_missing_file_is_created_valid(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    assert add_sources(path, [TURANTIMES]) == ["turantimes"]
    config = load_config(path)
    assert [s.name for s in config.sources] == ["turantimes"]
    assert [o.name for o in config.outputs] == ["all"]
    assert _comments(path.read_text(encoding="utf-8")) == _comments(NEW_FILE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize(("source", "message"), [
    pytest.param(NewSource("izvestia", "https://iz.ru/other.xml"),
                 "feeds.yaml:11: sources[0].name: cannot add 'izvestia': a source with this name "
                 "already exists (url https://iz.ru/xml/rss/all.xml)", id="name"),
    pytest.param(NewSource("iz", "https://IZ.ru:443/xml/rss/all.xml?utm_source=x#top"),
                 "feeds.yaml:11: sources[0].url: cannot add 'iz': "
                 "https://IZ.ru:443/xml/rss/all.xml?utm_source=x#top is already the source "
                 "'izvestia'", id="the same url written differently"),
    pytest.param(NewSource("kaz", "https://www.inform.kz/rss/rus.xml"),
                 "feeds.yaml:23: sources[3].url: cannot add 'kaz': "
                 "https://www.inform.kz/rss/rus.xml is already the source 'kazinform'",
                 id="url of a later entry"),
])
def test_a_duplicate_is_refused_naming_the_existing_entry(tmp_path: Path, source: NewSource,
                                                          message: str) -> None:
    path = tmp_path / "feeds.yaml"
    original = SHIPPED.read_bytes()
    path.write_bytes(original)
    with pytest.raises(ConfigError) as caught:
        add_sources(path, [TURANTIMES, source])
    assert str(caught.value) == message.replace("feeds.yaml", str(path))
    assert path.read_bytes() == original  # nothing at all was added


def test_duplicates_within_one_batch_are_refused() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot add 'turantimes' twice"):
        add_sources_text(text, [TURANTIMES, TURANTIMES])
    with pytest.raises(ConfigError, match=r"cannot add https://turantimes.kz/feed/ twice"):
        add_sources_text(text, [TURANTIMES, NewSource("tt", "https://turantimes.kz/feed/")])


def test_skip_existing_adds_only_new_urls() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    again = NewSource("izvestiya", "https://iz.ru/xml/rss/all.xml", "Известия")
    edited, added = add_sources_text(text, [again, TURANTIMES, TURANTIMES], skip_existing=True)
    assert added == ["turantimes"]
    assert add_sources_text(edited, [again, TURANTIMES], skip_existing=True) == (edited, [])
    with pytest.raises(ConfigError, match="a source with this name already exists"):
        add_sources_text(text, [NewSource("tass", "https://tass.com/rss")], skip_existing=True)


@pytest.mark.parametrize(("source", "field"), [
    (NewSource("Turan Times!", "https://turantimes.kz/feed/"), "sources[6].name"),
    (NewSource("turantimes", "ftp://turantimes.kz/feed/"), "sources[6].url"),
    (NewSource("t" * 65, "https://turantimes.kz/feed/"), "sources[6].name"),
])
def test_an_invalid_new_source_is_refused_before_writing(tmp_path: Path, source: NewSource,
                                                         field: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(SHIPPED.read_bytes())
    with pytest.raises(ConfigError, match="would make the file invalid") as caught:
        add_sources(path, [source])
    assert caught.value.field == field
    assert path.read_bytes() == SHIPPED.read_bytes()


def test_an_invalid_file_is_not_edited(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("sources:\n  - name: x\n    url: https://x.org/\n    colour: red\n")
    with pytest.raises(ConfigError, match=r"feeds.yaml:4: sources\[0\].colour: unknown key"):
        add_sources(path, [TURANTIMES])


_titles = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_titles, tags=st.lists(_titles, max_size=3, unique=True))
def test_any_title_and_tags_come_back_exactly(title: str, tags: list[str]) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    try:
        edited, _ = add_sources_text(text, [NewSource("new", "https://new.example.org/rss",
                                                      title, tuple(tags))])
    except ConfigError as error:  # YAML cannot hold a few control characters at all
        assert "that YAML would not keep" in str(error)
        return
    source = parse_config(edited).source("new")
    one_line = [" ".join(t.split()) for t in (title, *tags)]
    assert source is not None and source.title == (one_line[0] or None)
    assert source.tags == tuple(dict.fromkeys(t for t in one_line[1:] if t))
    assert _comments(edited) == _comments(text)
    assert _inserted(text, edited).startswith("  - name: new\n")


# ---- removing ------------------------------------------------------------------------


def test_removing_takes_out_exactly_the_entry_lines(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    original = SHIPPED.read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    remove_source(path, "kazinform")
    edited = path.read_text(encoding="utf-8")
    assert _inserted(edited, original) == ("  - name: kazinform\n"
                                           "    url: https://www.inform.kz/rss/rus.xml\n"
                                           "    title: Kazinform\n"
                                           "    tags: [ru, kz, news]\n")
    assert _comments(edited) == _comments(original)
    assert "kazinform" not in [s.name for s in load_config(path).sources]


def test_remove_then_add_gives_the_file_back() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    edited, _ = add_sources_text(text, [TURANTIMES])
    assert remove_source_text(edited, "turantimes") == text


def test_comments_around_a_removed_entry_stay() -> None:
    text = STYLES["offset 0, comments between and after"][0]
    edited = remove_source_text(text, "izvestia")
    assert _names(edited) == ["kazinform"]
    assert _comments(edited) == [c for c in _comments(text) if "belongs to izvestia" not in c]
    edited = remove_source_text(text, "kazinform")
    assert _comments(edited) == [c for c in _comments(text) if c != "# tags end"]
    assert "# Kazakh\n\n# - name: tass\n" in edited


def test_removing_an_entry_between_blank_lines_leaves_one_blank_line() -> None:
    text = ("sources:\n\n  - name: a\n    url: https://a.kz/\n\n  - name: b\n"
            "    url: https://b.kz/\n\n  - name: c\n    url: https://c.kz/\n")
    assert remove_source_text(text, "b") == ("sources:\n\n  - name: a\n    url: https://a.kz/\n"
                                             "\n  - name: c\n    url: https://c.kz/\n")


def test_removing_the_last_source_leaves_an_empty_list() -> None:
    text = "sources:   # none left soon\n  - name: a\n    url: https://a.kz/\n\noutputs: []\n"
    edited = remove_source_text(text, "a")
    assert edited == "sources: []  # none left soon\n\noutputs: []\n"
    assert parse_config(edited).sources == ()


def test_a_source_an_output_lists_is_not_removed(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    text = SHIPPED.read_text(encoding="utf-8").replace(
        "    tags: [tech]\n", "    tags: [tech]\n    sources: [tass]\n")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        remove_source(path, "tass")
    assert str(caught.value) == (
        f"{path}:46: outputs[2].sources: cannot remove 'tass': the output 'tech' lists it in "
        "its sources; remove it from that list (or remove the output) first")
    assert path.read_text(encoding="utf-8") == text


def test_a_source_whose_tag_an_output_needs_is_not_removed() -> None:
    with pytest.raises(ConfigError, match=r"outputs\[2\]\.tags: removing 'python-insider' would "
                                          r"make the file invalid.*no source has the tag 'tech'"):
        remove_source_text(SHIPPED.read_text(encoding="utf-8"), "python-insider")


def test_an_unknown_source_is_named_with_the_ones_there_are() -> None:
    with pytest.raises(ConfigError, match="no source named 'nope'; defined sources: izvestia, "
                                          "tass, bbc-russian, kazinform, bbc-world, python"):
        remove_source_text(SHIPPED.read_text(encoding="utf-8"), "nope")


def test_removing_from_a_flow_style_list() -> None:
    text = ("sources: [{name: a, url: 'https://a.kz/'}, {name: b, url: 'https://b.kz/'}]\n")
    assert _names(remove_source_text(text, "a")) == ["b"]


def test_remove_from_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        remove_source(tmp_path / "feeds.yaml", "tass")


# ---- writing -------------------------------------------------------------------------


def test_writing_keeps_mode_bom_and_symlinks_and_leaves_no_temporary_files(
        tmp_path: Path) -> None:
    real = tmp_path / "etc" / "feeds.yaml"
    real.parent.mkdir()
    real.write_bytes(b"\xef\xbb\xbf" + SHIPPED.read_bytes())
    real.chmod(0o600)
    link = tmp_path / "feeds.yaml"
    link.symlink_to(real)
    add_sources(link, [TURANTIMES])
    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert real.read_bytes().startswith(b"\xef\xbb\xbf# aggregator configuration.")
    assert load_config(link).source("turantimes") is not None
    assert sorted(os.listdir(real.parent)) == ["feeds.yaml"]


def test_nothing_is_written_when_nothing_is_added(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(SHIPPED.read_bytes())
    os.utime(path, (1_000_000_000, 1_000_000_000))
    again = NewSource("iz", "https://iz.ru/xml/rss/all.xml")
    assert add_sources(path, [again], skip_existing=True) == []
    assert path.stat().st_mtime == 1_000_000_000


def test_a_file_that_cannot_be_written_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot write: No such file or directory"):
        add_sources(tmp_path / "missing-directory" / "feeds.yaml", [TURANTIMES])
