"""``earnright localize``: which segments explain a deviation from the forecast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from earnright.api.localize import localize_table
from earnright.cli.common import FormatOpt, OutputOpt, render, say_notes
from earnright.cli.output import Format, choose_format
from earnright.reliability.localize import ALPHA, MAX_CAUSES


def register(app: typer.Typer) -> None:
    app.command("localize")(localize_command)


def localize_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV or Parquet file: a value column, a forecast column and one column per "
            "dimension (the Squeeze benchmark layout: real, predict, a, b, c, d).",
            show_default=False,
        ),
    ],
    dims: Annotated[
        str | None,
        typer.Option(
            "--dims",
            help="Comma-separated dimension columns (default: every column but --real and "
            "--predict).",
            show_default=False,
        ),
    ] = None,
    real: Annotated[str, typer.Option("--real", help="Column of observed values.")] = "real",
    predict: Annotated[
        str, typer.Option("--predict", help="Column of forecast (expected) values.")
    ] = "predict",
    max_layer: Annotated[
        int | None,
        typer.Option(
            "--max-layer",
            min=1,
            help="Most dimensions combined in one cause (default: all the dimensions).",
            show_default=False,
        ),
    ] = None,
    alpha: Annotated[
        float,
        typer.Option(
            "--alpha",
            min=0.0,
            max=1.0,
            help="Family-wise chance of naming a segment that only noise moved.",
        ),
    ] = ALPHA,
    max_causes: Annotated[
        int, typer.Option("--max-causes", min=1, help="Most causes reported.")
    ] = MAX_CAUSES,
    details: Annotated[
        bool,
        typer.Option(
            "--details", help="With --format json, add each cause's figures under 'details'."
        ),
    ] = False,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Name the segments (combinations of up to --max-layer dimension values) behind a deviation.

    A segment is a cause when its leaves share a significant common relative shift from the
    forecast. Leaves with a negative total are left out, and said so on standard error. JSON
    prints {"root_causes": ["a=a1&b=b2", ...]}, each cause's dim=value parts sorted by
    dimension and joined by '&', strongest cause first. See docs/localize.md.
    """
    fmt = choose_format(fmt, output)
    result = localize_table(file, dims, real, predict, max_layer, alpha, max_causes, details)
    say_notes(result)
    if fmt is Format.json:
        render(result, fmt, output)
        return
    title = (
        f"{len(result.causes)} root cause(s) in {file.name}"
        if result.causes
        else f"No segment of {file.name} stands out from the noise"
    )
    render(result, fmt, output, title=title)
