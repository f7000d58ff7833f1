"""``earnright comments`` (sentiment and themes of any CSV) and ``earnright themes`` (each
theme per unit, or proposals of new themes with --discover)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from earnright.cli.common import (
    FormatOpt,
    GrainOpt,
    LatestPeriodOpt,
    LevelOpt,
    OutputOpt,
    WorkspaceOpt,
    open_workspace,
    render,
    say,
    say_notes,
)
from earnright.cli.output import Format, choose_format, err_console
from earnright.errors import WorkspaceError
from earnright.periods import Grain

__all__ = ["comments", "register", "themes"]

THEME_TABLE = [
    "unit_id", "name", "theme", "moment", "comments", "mentions", "share", "sentiment",
    "previous", "change", "change_low", "change_high", "q_value", "flagged", "negative",
    "previous_negative", "negative_change", "negative_q_value", "negative_flagged",
]  # fmt: skip
SHOWN_CHARS = 60


def register(app: typer.Typer) -> None:
    app.command("comments")(comments)
    app.command("themes")(themes)


def _config_themes(workspace: str | None) -> list[object]:
    """The config's themes: of --workspace, else of the workspace here if there is one."""
    try:
        return list(open_workspace(workspace).config.themes)
    except WorkspaceError:
        if workspace is not None:
            raise
        return []


def comments(
    source: Annotated[
        Path, typer.Option("--from", help="The CSV file holding the comments (one per row).")
    ],
    text_column: Annotated[
        str, typer.Option("--text-column", help="The column holding each row's comment.")
    ],
    themes_file: Annotated[
        Path | None,
        typer.Option(
            "--themes",
            help="A themes file: [[themes]] tables with name, description and optional "
            "examples (default: the workspace's [[themes]], if any).",
            show_default=False,
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Sentiment and themes of every comment in a CSV file, one result per row, in order.

    Each row gets ``sentiment`` (negative, neutral or positive), ``sentiment_score`` in [-1, 1]
    and ``themes`` (the names of the themes it speaks of, most confident first, with their
    ``theme_confidence``). An empty comment is neutral with no theme. Any CSV: a byte-order
    mark, quoted newlines, semicolons or tabs as separators. This is how to try a codeframe
    before putting it in the config (docs/comments.md).
    """
    from earnright.api.comments import comments_of_file

    fmt = choose_format(fmt, output)
    chosen = themes_file if themes_file is not None else _config_themes(workspace)
    if not chosen:
        say("no themes: pass --themes FILE, or run in a workspace whose config has [[themes]]")
    result = comments_of_file(source, text_column, chosen)  # type: ignore[arg-type]
    if fmt is not Format.table:
        render(result, fmt, output)
        return
    frame = result.to_frame()
    from earnright.comments.labels import read_comments

    texts = read_comments(source, text_column)
    frame.insert(
        1, "comment", [(t or "")[:SHOWN_CHARS] + ("…" if len(t or "") > SHOWN_CHARS else "")
                       for t in texts]
    )  # fmt: skip
    counts = frame.sentiment.value_counts()
    title = f"{len(frame)} comments: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in
                                                   ("negative", "neutral", "positive"))  # fmt: skip
    render(result, fmt, output, title=title, frame=frame)


def themes(
    level: LevelOpt = "store",
    grain: GrainOpt = Grain.month,
    period: LatestPeriodOpt = None,
    moment: Annotated[
        str | None,
        typer.Option(help="Only comments about this journey moment.", show_default=False),
    ] = None,
    fdr: Annotated[
        float,
        typer.Option(min=0.0001, max=0.5, help="False discovery rate (Benjamini–Hochberg)."),
    ] = 0.05,
    min_n: Annotated[
        int, typer.Option("--min-n", min=1, help="Fewest comments on each side to test a change.")
    ] = 5,
    flagged: Annotated[
        bool,
        typer.Option(
            "--flagged", help="Only the changes (in share or in tone) flagged beyond noise."
        ),
    ] = False,
    discover: Annotated[
        bool,
        typer.Option(
            "--discover",
            help="Instead: propose themes the codeframe lacks, from the comments that fit none.",
        ),
    ] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Each theme per unit: comments, share and sentiment, and changes beyond noise.

    Per unit at --level and theme of the config's [[themes]] in --period (default: the latest
    complete one): the comments mentioning it, their share with its 95% interval, their mean
    sentiment, the change in share against the previous period, and the change in the share of
    its mentions that are negative, each flagged only when it is beyond sampling noise at --fdr
    across every unit and theme tested. With --discover: groups
    of the comments that fit no theme, each named by its typical words with representative
    comments, to add to [[themes]] if they are real themes.
    """
    fmt = choose_format(fmt, output)
    ws = open_workspace(workspace)
    if discover:
        found = ws.discover_themes(grain=grain, period=period, moment=moment)
        if fmt is not Format.table:
            render(found, fmt, output)
            return
        say(f"{found.unthemed:,} of {found.comments:,} comments fit no theme")
        for i, p in enumerate(found.proposals, 1):
            err_console.print(
                f"{i}. {p['name']} — {p['size']} comments ({p['share']:.0%}); "
                f"words: {', '.join(p['words'])}", markup=False, highlight=False,
            )  # fmt: skip
            for example in p["examples"]:
                err_console.print(f'     "{example}"', markup=False, highlight=False)
        if not found.proposals:
            say("no proposal: the unthemed comments form no tight group of enough comments")
        return
    result = ws.themes(level=level, grain=grain, period=period, moment=moment, fdr=fdr,
                       min_n=min_n, flagged_only=flagged)  # fmt: skip
    say_notes(result)
    title = (
        f"themes by {level} in {result.period}: {result.flagged} of {result.tested} changes in "
        f"share and {result.negative_flagged} of {result.negative_tested} in tone flagged at "
        f"FDR {fdr:g}"
    )
    render(result, fmt, output, title=title, table_columns=THEME_TABLE)
