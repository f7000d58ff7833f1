"""The server's HTML around the report's pages: the bar (who, where, sign out), filters,
messages. Every value is escaped; pages carry no script."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from fastapi.responses import HTMLResponse

if TYPE_CHECKING:
    from fastapi import Request

    from earnright.serve.auth import Caller

__all__ = ["bar", "document", "filters_form", "message_page", "table", "with_bar"]

STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}"
    ".bar{display:flex;gap:1em;align-items:center;border-bottom:1px solid #ccc;padding:.3em 0}"
    ".bar form{display:inline;margin:0} table{border-collapse:collapse;font-size:.9em}"
    "th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}"
    "label{display:block;margin:.4em 0} .error{color:#a00}"
)


def bar(caller: Caller, filters: str = "") -> str:
    s = caller.scope
    csrf = escape(caller.csrf or "")
    return (
        '<div class="bar"><a href="/">Home</a><a href="/incidents">Incidents</a>'
        '<a href="/alerts">Alerts</a>'
        '<a href="/comments">Comments</a><a href="/decisions">Decisions</a>'
        f"<span>{escape(s.user)} ({escape(s.role.value)})</span>{filters}"
        f'<form method="post" action="/logout"><input type="hidden" name="csrf" value="{csrf}">'
        '<button type="submit">Sign out</button></form></div>'
    )


def filters_form(
    action: str, period: str | None, moment: str | None, moments: list[str],
    fields: dict[str, str | None] | None = None,
) -> str:  # fmt: skip
    """A GET form of filters: ``period`` (when not None: a text box; pass "" for empty),
    ``moment`` (a list of ``moments``), and ``fields`` (name -> value, text boxes)."""
    options = "".join(
        f'<option value="{escape(m)}"{" selected" if m == moment else ""}>{escape(m)}</option>'
        for m in ["", *moments]
    )
    boxes = "" if period is None else _box("period", "Period", period, 8)
    boxes += (
        f'<label style="display:inline">Moment <select name="moment">{options}</select></label> '
    )
    for name, value in (fields or {}).items():
        boxes += _box(name, name.capitalize(), value, 14)
    return (
        f'<form method="get" action="{escape(action)}">{boxes}'
        '<button type="submit">Show</button></form>'
    )


def _box(name: str, label: str, value: str | None, size: int) -> str:
    return (
        f'<label style="display:inline">{escape(label)} <input name="{escape(name)}" '
        f'size="{size}" value="{escape(value or "")}"></label> '
    )


def with_bar(page: str, top: str, json_href: str) -> str:
    """A report page with the server's bar on top and its JSON link pointing at the API."""
    page = page.replace('<a href="page.json">', f'<a href="{escape(json_href)}">', 1)
    return page.replace("<body>", "<body>" + top, 1)


def document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def table(rows: list[dict[str, Any]], columns: list[str], link: str | None = None) -> str:
    """Rows as an HTML table; ``link``: the column whose value links to ``/{link}/VALUE``."""
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in columns)

    def cell(row: dict[str, Any], c: str) -> str:
        text = escape("" if row.get(c) is None else str(row[c]))
        if c == link and row.get(c) is not None:
            return f'<a href="/{escape(link)}/{escape(str(row[c]))}">{text}</a>'
        return text

    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r, c)}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def message_page(request: Request, status: int, text: str) -> HTMLResponse:
    titles = {400: "Cannot do that", 403: "Not allowed", 404: "Not found"}
    title = titles.get(status, "Problem")
    body = f'<h1>{escape(title)}</h1><p class="error">{escape(text)}</p><a href="/">Home</a>'
    return HTMLResponse(document(title, body), status_code=status)
