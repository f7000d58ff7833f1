"""Reports: pages rendered from results. No computation happens here."""

from earnright.report.scorecard_page import render_scorecard_page

__all__ = ["render_scorecard_page"]
