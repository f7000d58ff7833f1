"""Train the shipped sentiment head on the shipped static model's features (offline, numpy + scipy).

    python scripts/distil_head.py [--data ../shared/data/sentiment] [--l2 0.1]

Trains on every labelled text of the public sets (see :mod:`earnright.comments.labelled`): the
three UCI sources (negative / positive) and the clothing reviews (ratings 1–2 / 3 / 4–5), plus
the *tuning* half of our own service comments (``tests/comments/data/service_comments.csv``; its
held-out half is never trained on) and, with weight ``NEGATION_WEIGHT``, the negation examples
made from the lexicon (:func:`earnright.comments.train.training_extras`); writes
``src/earnright/comments/model/head.npz``. Held-out figures (leave one source out) come from
``bench/comments.py``, which trains the same way without the measured source.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from earnright.comments.labelled import UCI_SOURCES, read_clothing, read_uci
from earnright.comments.sentiment import features
from earnright.comments.train import fit_head, training_extras

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sentiment"
SERVICE = ROOT / "tests" / "comments" / "data" / "service_comments.csv"
OUT = ROOT / "src" / "earnright" / "comments" / "model" / "head.npz"
L2 = 0.1


def labelled(data: Path) -> pd.DataFrame:
    """Every labelled text of the public sets, in a fixed order."""
    frames = [read_uci(data / "uci_sentiment_labelled", s) for s in UCI_SOURCES]
    frames.append(read_clothing(data / "womens_clothing_reviews_subset.csv"))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="the sentiment data folder")
    ap.add_argument("--l2", type=float, default=L2, help=f"L2 penalty (default {L2})")
    ap.add_argument("--out", type=Path, default=OUT, help="the head file written")
    args = ap.parse_args()
    frame = labelled(args.data)
    ex, ey, ew = training_extras(SERVICE)
    x = np.vstack([features(frame.text.tolist()), ex])
    y = np.concatenate([frame.label.to_numpy(dtype=object), ey])
    w = np.r_[np.ones(len(frame)), ew]
    head = fit_head(x, y, l2=args.l2, sample_weight=w)
    np.savez(args.out, weights=head.weights, bias=head.bias)
    print(f"wrote {args.out} from {len(frame)} public texts "
          f"{frame.groupby('source').size().to_dict()} and {len(ey)} more")  # fmt: skip


if __name__ == "__main__":
    main()
