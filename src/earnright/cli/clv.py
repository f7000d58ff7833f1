"""``earnright clv``: customer lifetime value (BG/NBD and Gamma-Gamma)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from earnright.cli.common import LevelOpt, OutputOpt, WorkspaceOpt, open_workspace, say_notes
from earnright.cli.output import Format, write_frame, write_json


class ClvFormat(StrEnum):
    """The whole result is JSON; a table shows the value per unit."""

    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("clv")(clv)


def clv(
    level: LevelOpt = "store",
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="A file in the transactions layout (customer_id, occurred_at, amount; CSV, "
            "Parquet or JSON Lines) to fit instead of the workspace's customers.",
            show_default=False,
        ),
    ] = None,
    calibration_end: Annotated[
        str | None,
        typer.Option(
            "--calibration-end",
            help="Last day (YYYY-MM-DD) of the purchases the models are fitted on; those after "
            "it are the holdout (default: the data's last day).",
            show_default=False,
        ),
    ] = None,
    months: Annotated[
        int, typer.Option("--months", min=1, max=120, help="Months of future spend a value sums.")
    ] = 36,
    discount: Annotated[
        float,
        typer.Option("--discount", min=0.0, max=0.5, help="Discount rate per month."),
    ] = 0.01,
    draws: Annotated[
        int,
        typer.Option(
            "--draws", min=0, max=10_000, help="Parameter draws for the 95% intervals (0: none)."
        ),
    ] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the parameter draws.")] = 0,
    workspace: WorkspaceOpt = None,
    fmt: Annotated[
        ClvFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="json: the whole result; table: the value per unit (default: json when "
            "--output ends .json, else table).",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Customer lifetime value: BG/NBD and Gamma-Gamma fitted from purchase histories.

    BG/NBD (r, alpha, a, b) models how often customers buy and when they stop; Gamma-Gamma
    (p, q, gamma) what they spend per purchase. Per unit (the customer's home unit): customers,
    the share still alive, expected purchases in the next 12 months, and the mean and total
    lifetime value (expected spend over --months, discounted), with 95% intervals from the
    fits' uncertainty. With purchases after --calibration-end, the holdout compares actual
    repeat purchases with the prediction.
    """
    from earnright.api.customers import clv_table

    options: dict[str, Any] = {"months": months, "discount": discount, "draws": draws}
    options["seed"] = seed
    if source is not None:
        result = clv_table(source, calibration_end, **options)
    else:
        ws = open_workspace(workspace)
        result = ws.clv(level=level, calibration_end=calibration_end, **options)
    say_notes(result)
    if fmt is None:
        json_file = output is not None and output.suffix.lower() == ".json"
        fmt = ClvFormat.json if json_file else ClvFormat.table
    if fmt is ClvFormat.json:
        write_json(result.to_dict(), output)
        return
    write_frame(result.to_frame(), Format.table, output, title=repr(result))
