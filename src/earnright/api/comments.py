"""Comments in the public API: sentiment and themes of any file (``comments``), each theme's
volume, share, sentiment and change per unit (``themes``), and proposals of new themes
(``discover_themes``).

:class:`CommentMethods` is a base of :class:`~earnright.api.Workspace`; :func:`comments_of_file`
needs no workspace (docs/comments.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from earnright.api.operations import Operations
from earnright.api.records import jsonable
from earnright.api.results import Result, TableResult

if TYPE_CHECKING:
    import pandas as pd

    from earnright.config import Theme
    from earnright.periods import Grain

__all__ = [
    "CommentMethods",
    "CommentsResult",
    "ThemeProposalsResult",
    "ThemesResult",
    "comments_of_file",
]


class CommentsResult(Result):
    """One object per row of the file, in order: ``sentiment`` (negative / neutral /
    positive), ``sentiment_score`` in [−1, 1], ``themes`` (most confident first) and their
    ``theme_confidence`` in [0.5, 1]."""

    source: str = ""
    text_column: str = ""
    themes_used: list[str] = Field(default_factory=list)
    rows: list[dict[str, Any]] = Field(default_factory=list)

    def to_dict(self) -> Any:
        return jsonable(self.rows)

    def to_frame(self) -> pd.DataFrame:
        """One row per comment; themes joined by "; "."""
        import pandas as pd

        frame = pd.DataFrame(
            self.rows, columns=["row", "sentiment", "sentiment_score", "themes", "theme_confidence"]
        )
        frame["themes"] = frame["themes"].map("; ".join)
        frame["theme_confidence"] = frame["theme_confidence"].map(
            lambda c: "; ".join(f"{v:.2f}" for v in c)
        )
        return frame

    def __len__(self) -> int:
        return len(self.rows)

    def _summary(self) -> str:
        return f"{len(self.rows)} comments, {len(self.themes_used)} themes"


class ThemesResult(TableResult):
    """Per unit and theme: comments, mentions, share and sentiment with 95% intervals, the
    change in share against the previous period, and the change in the share of its mentions
    that are negative, each flagged only beyond noise (FDR)."""

    level: str = "store"
    grain: str = "month"
    period: str | None = None
    moment: str | None = None
    fdr: float = 0.05
    tested: int = 0
    flagged: int = 0
    negative_tested: int = 0
    negative_flagged: int = 0

    def _what(self) -> str:
        return f"by {self.level}, {self.period}"


class ThemeProposalsResult(Result):
    """Themes the codeframe may lack: clusters of the comments that fit no theme, each with its
    typical words, size and representative comments, for a person to accept."""

    unthemed: int = 0
    comments: int = 0
    proposals: list[dict[str, Any]] = Field(default_factory=list)

    def to_dict(self) -> Any:
        return jsonable(
            {"comments": self.comments, "unthemed": self.unthemed, "proposals": self.proposals}
        )

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        frame = pd.DataFrame(
            self.proposals, columns=["name", "words", "size", "share", "cohesion", "examples"]
        )
        frame["words"] = frame["words"].map(", ".join)
        frame["examples"] = frame["examples"].map(" | ".join)
        return frame

    def _summary(self) -> str:
        return f"{len(self.proposals)} proposals from {self.unthemed:,} unthemed comments"


def comments_of_file(
    source: str | Path,
    text_column: str,
    themes: str | Path | list[Theme] | None = None,
) -> CommentsResult:
    """Sentiment and themes of every row of a CSV file's ``text_column``; ``themes`` is a
    themes file (TOML ``[[themes]]`` tables with name, description, optional examples) or a list
    of :class:`~earnright.config.Theme`; without it, no themes."""
    from earnright.comments.labels import label_comments, read_comments
    from earnright.comments.themes import load_themes

    codeframe = load_themes(Path(themes)) if isinstance(themes, str | Path) else (themes or [])
    texts = read_comments(Path(source), text_column)
    labels = label_comments(texts, codeframe)
    rows = [{"row": i + 1} | r for i, r in enumerate(labels.records())]
    return CommentsResult(
        source=str(source), text_column=text_column, themes_used=[t.name for t in codeframe],
        rows=rows,
    )  # fmt: skip


class CommentMethods(Operations):
    """The comment capabilities of a workspace."""

    def comments(
        self, source: str | Path, text_column: str, themes: str | Path | None = None
    ) -> CommentsResult:
        """Sentiment and themes of every row of ``source``'s ``text_column``, with the themes of
        the ``themes`` file, else the config's ``[[themes]]``."""
        return comments_of_file(source, text_column, themes or list(self.config.themes))

    def label_comments(self) -> int:
        """Label every comment not yet labelled under the current themes and model (ingest
        does it; after editing the config's themes, this or ``themes`` relabels)."""
        from earnright.comments.store import label_feedback

        with self.warehouse(read_only=False) as wh:
            return label_feedback(wh, self.config)

    def _relabel(self) -> None:
        """Relabel when the themes or the model changed (a write only then)."""
        from earnright.comments.store import label_feedback, labels_current

        with self.warehouse() as wh:
            if labels_current(wh, self.config):
                return
        with self.warehouse(read_only=False) as wh:
            label_feedback(wh, self.config)

    def themes(
        self,
        level: str = "store",
        grain: Grain | str | None = None,
        period: Any = None,
        moment: str | None = None,
        fdr: float = 0.05,
        min_n: int = 5,
        flagged_only: bool = False,
    ) -> ThemesResult:
        """Each theme's comments, share and sentiment per unit at ``level`` in ``period``
        (default: the latest complete one), and the change in share against the previous
        period, ``flagged`` beyond noise at false discovery rate ``fdr``, and the change in the
        share of its mentions that are negative (``negative_flagged``); comments of ``moment``
        only if given. ``flagged_only`` keeps the rows with either flag. Relabels first if the
        config's themes changed."""
        from earnright.api.workspace import resolve_period
        from earnright.comments.trend import theme_trends

        grain, label = resolve_period(grain, period)
        self._relabel()
        with self.warehouse() as wh:
            frame, chosen = theme_trends(
                wh, self.config, level=level, grain=grain, period=label, moment=moment,
                fdr=fdr, min_n=min_n,
            )  # fmt: skip
        counts = {
            "tested": int(frame.p_value.notna().sum()),
            "flagged": int(frame.flagged.sum()),
            "negative_tested": int(frame.negative_p_value.notna().sum()),
            "negative_flagged": int(frame.negative_flagged.sum()),
        }
        if flagged_only:
            frame = frame[frame.flagged | frame.negative_flagged].reset_index(drop=True)
        return ThemesResult.of(
            frame, level=level, grain=str(grain), period=chosen, moment=moment, fdr=fdr, **counts
        )

    def discover_themes(
        self,
        grain: Grain | str | None = None,
        period: Any = None,
        moment: str | None = None,
        max_proposals: int = 8,
        min_size: int = 10,
        limit: int = 20_000,
        seed: int = 7,
    ) -> ThemeProposalsResult:
        """Proposals of themes among the comments that fit no theme of the config (in
        ``period`` and of ``moment`` if given; at most ``limit`` of them, the newest)."""
        from earnright.api.workspace import resolve_period
        from earnright.comments.discovery import discover_themes
        from earnright.comments.store import unthemed_comments

        grain, label = resolve_period(grain, period)
        self._relabel()
        with self.warehouse() as wh:
            texts, total = unthemed_comments(wh, grain, label, moment, limit)
        found = discover_themes(texts, max_proposals=max_proposals, min_size=min_size, seed=seed)
        return ThemeProposalsResult(
            comments=total, unthemed=len(texts), proposals=[p.to_dict() for p in found]
        )
