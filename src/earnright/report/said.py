"""What customers said, drawn one way wherever it is shown: a site page's comment feed
(:mod:`earnright.report.site_page`) and each moment of the Customer Room
(:mod:`earnright.report.room`).

A block says how many comments there were and how many were negative, neutral and positive,
has a table of the themes (mentions, share of the comments, mean sentiment score and, where
known, the theme's comments by sentiment), and quotes comments as stored (masked where masking
is on) with where and when they were given and their labels beside them. :func:`filters` adds
the site's filter by sentiment and by theme: a list of plain links to one section each, shown
alone when its link is followed (CSS ``:target``), so it needs no script and no server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

__all__ = ["FILTER_STYLE", "TONES", "filters", "labels", "quote", "split", "theme_table"]

TONES = ("negative", "neutral", "positive", "not labelled")  # the order counts are told in
# every filter section is hidden but the one its link targets; "all" shows when none is
FILTER_STYLE = (
    ".said-filter{display:none}.said-filter:target,#said-all{display:block}"
    ".said-filter:target~#said-all{display:none}"
    "ul.filters{list-style:none;padding:0;margin:.3em 0}"
    "ul.filters li{display:inline;margin-right:1em}"
)


def _number(value: Any, digits: int = 1) -> str:
    from earnright.report.site_page import number

    return number(value, digits)


def labels(comment: dict[str, Any]) -> str:
    """A comment's labels as words: its sentiment (or "not labelled") and its themes."""
    tone = comment.get("sentiment") or "not labelled"
    themes = comment.get("themes") or []
    return ", ".join([tone, *themes]) if themes else f"{tone}, no theme"


def quote(comment: dict[str, Any]) -> str:
    """One comment as stored, with where (unit, moment) and when it was given, and its labels."""
    keys = ("unit_id", "moment", "responded_at")
    where = ", ".join(str(comment[k]) for k in keys if comment.get(k))
    return (
        f"<blockquote>“{escape(str(comment['comment']))}” <small>({escape(where)}; "
        f"{escape(labels(comment))})</small></blockquote>"
    )


def split(counts: dict[str, int]) -> str:
    """``3 negative, 1 neutral, 5 positive`` in that order (a label with no count left out)."""
    known = [t for t in TONES if counts.get(t)] + sorted(set(counts) - set(TONES))
    return ", ".join(f"{_number(counts[t])} {escape(t)}" for t in known) or "none"


def theme_table(themes: Sequence[dict[str, Any]]) -> str:
    """The themes: mentions, share of the comments, mean sentiment score and, when the rows
    carry it (``by_sentiment``), the theme's comments by sentiment."""
    from earnright.report.site_page import _table

    columns: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("Theme", lambda t: escape(str(t["theme"]))),
        ("Mentions", lambda t: _number(t["mentions"])),
        ("Share", lambda t: f"{_number(100 * t['share'])}%"),
        ("Mean sentiment (-1 to 1)", lambda t: _number(t["sentiment"], 2)),
    ]
    if themes and "by_sentiment" in themes[0]:
        columns.append(("By sentiment", lambda t: split(t["by_sentiment"])))
    return _table(themes, columns)


def anchor(kind: str, name: str) -> str:
    """The id of a filter section (``said-sentiment-negative``, ``said-theme-price``)."""
    return f"said-{kind}-" + (re.sub(r"[^A-Za-z0-9_-]", "_", name) or "_")


def filters(feed: dict[str, Any]) -> str:
    """The comment feed with its filters: a link per sentiment and per theme to a section of
    its comments (the newest first), and the latest of all when no filter is chosen."""
    by_tone, by_theme = feed.get("by_sentiment", {}), feed.get("by_theme", {})
    tone_links = [(anchor("sentiment", t), t, len(by_tone[t]), feed["sentiment"].get(t, 0))
                  for t in TONES if t in by_tone]  # fmt: skip
    theme_links = [(anchor("theme", t["theme"]), t["theme"], len(by_theme.get(t["theme"], [])),
                    t["mentions"]) for t in feed["themes"]]  # fmt: skip
    items = ['<li><a href="#said-all">all, the latest</a></li>']
    items += [f'<li><a href="#{a}">{escape(name)} ({_number(total)})</a></li>'
              for a, name, _, total in tone_links]  # fmt: skip
    themes = [f'<li><a href="#{a}">{escape(name)} ({_number(total)})</a></li>'
              for a, name, _, total in theme_links]  # fmt: skip
    nav = (
        '<div class="said-filters" role="group" aria-label="Filter the comments">'
        '<ul class="filters"><li class="note">Show the comments that are:</li>'
        + "".join(items) + "</ul>"
        + (f'<ul class="filters"><li class="note">or that mention:</li>{"".join(themes)}</ul>'
           if themes else "") + "</div>"
    )  # fmt: skip
    sections = [
        _section(a, f"{_title(kind, name)}: the latest {_number(shown)} of {_number(total)}",
                 (by_tone if kind == "sentiment" else by_theme)[name])
        for kind, links in (("sentiment", tone_links), ("theme", theme_links))
        for a, name, shown, total in links
    ]  # fmt: skip
    latest = _section("said-all", f"The latest {_number(len(feed['latest']))} comments",
                      feed["latest"])  # fmt: skip
    return nav + "".join(sections) + latest


def _title(kind: str, name: str) -> str:
    if kind == "sentiment":
        return f"{name.capitalize()} comments"
    return f"Comments that mention {name}"


def _section(ident: str, title: str, comments: list[dict[str, Any]]) -> str:
    quotes = "".join(quote(c) for c in comments)
    return f'<section class="said-filter" id="{ident}"><h3>{escape(title)}</h3>{quotes}</section>'
