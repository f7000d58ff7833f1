"""What customers say in their own words: embeddings and sentiment of free-text comments.

:mod:`earnright.comments.embed` turns texts into fixed-length vectors with a static model shipped
in the package (numpy only, nothing downloaded); :mod:`earnright.comments.sentiment` labels each
text negative, neutral or positive with a score in [-1, 1]; :mod:`earnright.comments.themes`
gives each its themes; :mod:`earnright.comments.privacy` masks identifiers out of free text.
"""

from __future__ import annotations

__all__ = ["embed", "sentiment", "wordpiece"]
