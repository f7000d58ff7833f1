"""``earnright localize``: which segments explain a deviation from the forecast."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from earnright.cli.common import FormatOpt, OutputOpt, read_table, say
from earnright.cli.output import Format, choose_format, write_frame, write_json
from earnright.reliability.localize import (
    ALPHA,
    CAUSE_COLUMNS,
    MAX_CAUSES,
    NegativeLeavesWarning,
    RootCause,
    localize,
)


def register(app: typer.Typer) -> None:
    app.command("localize")(localize_command)


def causes_frame(causes: list[RootCause]) -> pd.DataFrame:
    """One row per cause, columns ``CAUSE_COLUMNS``."""
    rows = [c.model_dump(include=set(CAUSE_COLUMNS)) for c in causes]
    return pd.DataFrame(rows, columns=CAUSE_COLUMNS)


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
    table = read_table(file)
    names = _split(dims) if dims else [c for c in table.columns if c not in (real, predict)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NegativeLeavesWarning)
        causes = localize(
            table,
            names,
            real=real,
            predict=predict,
            max_layer=max_layer,
            alpha=alpha,
            max_causes=max_causes,
        )
    for warning in caught:
        if issubclass(warning.category, NegativeLeavesWarning):
            say(f"{file.name}: {warning.message}")
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    if fmt is Format.json:
        data: dict[str, object] = {"root_causes": [c.cause for c in causes]}
        if details:
            data["details"] = [c.to_dict() for c in causes]
        write_json(data, output)
        return
    title = (
        f"{len(causes)} root cause(s) in {file.name}"
        if causes
        else f"No segment of {file.name} stands out from the noise"
    )
    write_frame(causes_frame(causes), fmt, output, title=title)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
