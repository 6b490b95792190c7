"""Full-text extraction: quality and time per page, trafilatura against readability-lxml.

    python -m bench.fulltext.quality [--repeat 5]

Each extractor gets each page of ``pages.py`` (4 articles, 2 in English and 2 in Russian,
in 3 layouts), returns HTML, and the HTML's text (``aggregator.text.html_to_text``, as the
aggregator reads it) is compared with the known article text as bags of folded words:
precision = the share of extracted words that are the article's, recall = the share of
the article's words that were extracted. Time: the median over ``--repeat`` runs of one
page, in this process, after one warm-up run. Then pages with no article on them
(an app shell drawn by JavaScript, a section front of headlines): the words an extractor
returns there would replace a teaser.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence

from aggregator.text import fold, html_to_text
from bench.fulltext.pages import NON_ARTICLES, Page, pages

Extractor = Callable[[str, str], str]  # (html, url) -> html of the article
_WORD = re.compile(r"\w+")


def _trafilatura(precision: bool) -> Extractor:
    import trafilatura

    def extract(page: str, url: str) -> str:
        return trafilatura.extract(page, url=url, output_format="html", include_comments=False,
                                   include_tables=True, include_links=True,
                                   favor_precision=precision) or ""
    return extract


def _readability(page: str, url: str) -> str:
    from readability import Document

    return str(Document(page, url=url).summary(html_partial=True))


EXTRACTORS: dict[str, Callable[[], Extractor]] = {
    "trafilatura": lambda: _trafilatura(False),
    "trafilatura favor_precision": lambda: _trafilatura(True),
    "readability-lxml": lambda: _readability,
}


def _words(text: str) -> Counter[str]:
    return Counter(_WORD.findall(fold(text)))


def score(expected: str, extracted_html: str) -> tuple[float, float]:
    """(precision, recall) of the extracted text's words against the article's."""
    want, got = _words(expected), _words(html_to_text(extracted_html))
    overlap = sum((want & got).values())
    return (overlap / sum(got.values()) if got else 0.0,
            overlap / sum(want.values()) if want else 0.0)


def measure(extract: Extractor, page: Page, repeat: int) -> tuple[float, float, float]:
    url = f"https://example.com/{page.name}"
    result = extract(page.html, url)  # warm-up, and the result scored
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        extract(page.html, url)
        times.append(time.perf_counter() - start)
    precision, recall = score(page.expected, result)
    return precision, recall, statistics.median(times)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    corpus = pages()
    print(f"{len(corpus)} pages, {sum(len(p.html) for p in corpus) // len(corpus)} bytes "
          "on average\n")
    print(f"{'extractor':30} {'layout':8} {'precision':>9} {'recall':>7} {'ms/page':>8}")
    for name, make in EXTRACTORS.items():
        extract = make()
        rows = [(page, *measure(extract, page, args.repeat)) for page in corpus]
        for layout in ("modern", "legacy", "blog"):
            mine = [r for r in rows if r[0].layout == layout]
            print(f"{name:30} {layout:8} {statistics.mean(r[1] for r in mine):9.3f} "
                  f"{statistics.mean(r[2] for r in mine):7.3f} "
                  f"{1000 * statistics.median(r[3] for r in mine):8.2f}")
        print(f"{name:30} {'all':8} {statistics.mean(r[1] for r in rows):9.3f} "
              f"{statistics.mean(r[2] for r in rows):7.3f} "
              f"{1000 * statistics.median(r[3] for r in rows):8.2f}   "
              f"worst page: {min(rows, key=lambda r: min(r[1], r[2]))[0].name}")
        # a page without an article: what comes back would replace the teaser
        junk = {name: len(_words(html_to_text(extract(page, f"https://example.com/{name}"))))
                for name, page in NON_ARTICLES.items()}
        print(f"{name:30} {'no article: words returned':40} "
              + ", ".join(f"{k} {v}" for k, v in junk.items()))
        print()


if __name__ == "__main__":
    main()
