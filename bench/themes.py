"""Benchmark: are the demo company's planted comment themes recovered, against keyword lists?

    python bench/themes.py [--stores 60] [--months 12] [--seed 7]
    python bench/themes.py --smoke     # CI: a small company, seconds; writes nothing

1. **Tuning, held out.** The demo's comment bank (every template sentence alone and with each
   closing remark; the planted theme is the bank the sentence came from) is split by sentence:
   even-numbered sentences tune ``LEXICAL`` (the word-overlap weight), ``THRESHOLD`` and
   ``MARGIN`` of ``earnright.comments.themes`` for the best F1 over (comment, theme) pairs;
   odd-numbered ones measure them. The shipped constants are reported on both halves.
2. **Demo recovery.** A demo company is generated; its comments go through the public API
   (``earnright.comments_of_file`` on a CSV of them, with the demo config's themes), and each
   theme's precision and recall against the planted theme are reported, with the comments per
   second of the whole call (sentiment and themes).
3. **Baseline.** The keyword lists focus used before themes (``driver_keywords`` of each demo
   question): a comment gets the driver(s) whose words it mentions most; same comments, same
   scores.

Writes bench/results/themes.json and themes.md (not with ``--smoke``); prints a ``check:`` line;
exits 1 if the shipped constants' held-out F1 is below ``FLOOR``. (The keyword lists were
written from this very bank, so they are a demanding baseline here; themes need no word list
per driver, find several themes in one comment and take any codeframe.)
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import earnright
from earnright.comments import themes as th
from earnright.config import Question, Theme
from earnright.demo import DEMO_QUESTIONS
from earnright.demo.comments import CLOSERS, DEMO_THEMES, NEGATIVE, POSITIVE, planted_themes
from earnright.demo.generate import generate_company
from earnright.listening.focus import driver_keywords

RESULTS = Path(__file__).parent / "results"
FLOOR = 0.8  # held-out F1 the shipped constants must reach
LEXICALS = (0.0, 0.05, 0.1, 0.15, 0.2)
THRESHOLDS = tuple(np.round(np.arange(0.3, 2.0, 0.025), 3))
MARGINS = (0.0, 0.1, 0.2, 0.3)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def themes() -> list[Theme]:
    return [Theme.model_validate(t) for t in DEMO_THEMES]


def bank() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every bank comment, its planted theme and whether its sentence is in the tuning half."""
    texts, half = [], []
    sentences = [s for b in (NEGATIVE, POSITIVE) for v in b.values() for s in v]
    for tone, b in enumerate((NEGATIVE, POSITIVE)):
        for group in b.values():
            for s in group:
                even = sentences.index(s) % 2 == 0
                texts += [s, *(f"{s} {c}" for c in CLOSERS[tone])]
                half += [even] * (1 + len(CLOSERS[tone]))
    return texts, np.array(planted_themes(texts), dtype=object), np.array(half)


def scores(assigned: list[list[str]], truth: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 over (comment, theme) pairs; top-1 accuracy."""
    right = sum(t in a for a, t in zip(assigned, truth, strict=True))
    made = sum(len(a) for a in assigned)
    p, r = right / max(made, 1), right / max(len(truth), 1)
    top1 = np.mean([bool(a) and a[0] == t for a, t in zip(assigned, truth, strict=True)])
    return {"precision": p, "recall": r, "f1": 2 * p * r / max(p + r, 1e-12), "top1": float(top1)}


def _sim(frame: th.Codeframe, texts: list[str], lexical: float, margin: float) -> np.ndarray:
    saved = th.LEXICAL
    th.LEXICAL = lexical  # the module's weight, for this sweep only
    try:
        return frame.similarity(texts, margin)
    finally:
        th.LEXICAL = saved


def tune(texts: list[str], truth: np.ndarray, half: np.ndarray) -> dict[str, Any]:
    """The best (lexical, threshold, margin) on the tuning half, and both halves' scores."""
    frame = th.Codeframe.of(themes())
    names = [t.name for t in frame.themes]
    best: tuple[float, float, float, float] = (-1.0, 0.0, 0.0, 0.0)
    sims = {(lx, m): _sim(frame, texts, lx, m) for lx in LEXICALS for m in MARGINS}
    sims[th.LEXICAL, th.MARGIN] = _sim(frame, texts, th.LEXICAL, th.MARGIN)
    for lx in LEXICALS:
        for m in MARGINS:
            for thr in THRESHOLDS:
                found = th.matches_of(sims[lx, m][half], names, thr)
                f1 = scores([[x.name for x in ms] for ms in found], truth[half])["f1"]
                if f1 > best[0]:
                    best = (f1, lx, float(thr), m)

    def measure(lx: float, thr: float, m: float) -> dict[str, Any]:
        found = th.matches_of(sims[lx, m], names, thr)
        got = [[x.name for x in ms] for ms in found]
        tuned = scores([g for g, h in zip(got, half, strict=True) if h], truth[half])
        held = scores([g for g, h in zip(got, half, strict=True) if not h], truth[~half])
        return {"lexical": lx, "threshold": thr, "margin": m, "tuning": tuned, "held_out": held}

    shipped = (th.LEXICAL, th.THRESHOLD, th.MARGIN)
    return {"best": measure(*best[1:]), "shipped": measure(*shipped)}


def keyword_themes(texts: list[str | None]) -> list[list[str]]:
    """The baseline: the demo driver(s) whose keywords a comment mentions most (ties: all)."""
    name_of = {q: t["name"] for t in DEMO_THEMES for q in [t["question"]]}
    words = {
        name_of[q]: driver_keywords(Question(id=q, label=label))
        for q, label in DEMO_QUESTIONS.items()
    }
    out = []
    for text in texts:
        clean = " " + re.sub(r"[^a-z0-9]+", " ", (text or "").lower()) + " "
        hits = {
            name: sum((f" {w}" in clean) if len(w) >= 4 or " " in w else (f" {w} " in clean)
                      for w in ws)
            for name, ws in words.items()
        }  # fmt: skip
        top = max(hits.values(), default=0)
        out.append([n for n, h in hits.items() if h == top] if top > 0 else [])
    return out


def demo_recovery(stores: int, months: int, seed: int) -> dict[str, Any]:
    """Per theme precision and recall on a generated demo's comments, via the public API."""
    with tempfile.TemporaryDirectory() as tmp:
        generate_company(Path(tmp), stores=stores, months=months, seed=seed)
        fb = pd.read_parquet(Path(tmp) / "feedback.parquet", columns=["comment"])
        fb = fb[fb.comment.notna()].reset_index(drop=True)
        csv = Path(tmp) / "comments.csv"
        fb.to_csv(csv, index=False)
        started = time.perf_counter()
        result = earnright.comments_of_file(csv, "comment", themes())
        seconds = time.perf_counter() - started
    truth = np.array(planted_themes(list(fb.comment)), dtype=object)
    got = [r["themes"] for r in result.rows]
    base = keyword_themes(list(fb.comment))
    per = {}
    for t in DEMO_THEMES:
        name = str(t["name"])
        mine = np.array([name in g for g in got])
        kw = np.array([name in g for g in base])
        real = truth == name
        per[name] = {
            "comments": int(real.sum()),
            "precision": float((mine & real).sum() / max(mine.sum(), 1)),
            "recall": float((mine & real).sum() / max(real.sum(), 1)),
            "keyword_precision": float((kw & real).sum() / max(kw.sum(), 1)),
            "keyword_recall": float((kw & real).sum() / max(real.sum(), 1)),
        }
    return {
        "comments": len(fb),
        "seconds": seconds,
        "per_second": len(fb) / seconds,
        "themes": scores(got, truth),
        "keywords": scores(base, truth),
        "per_theme": per,
    }


def markdown(report: dict[str, Any]) -> str:
    t, d = report["tuning"], report["demo"]

    def row(name: str, s: dict[str, float]) -> str:
        cells = " | ".join(f"{s[k]:.3f}" for k in ("precision", "recall", "f1", "top1"))
        return f"| {name} | {cells} |"

    lines = [
        "# Comment themes against the demo company's planted themes",
        "",
        f"Run `python bench/themes.py` ({report['stores']} stores, {report['months']} months, "
        f"seed {report['seed']}); {platform.machine()} Python {platform.python_version()}.",
        "",
        "## Tuning (even sentences of the comment bank) and held out (odd sentences)",
        "",
        "| setting | lexical | threshold | margin | tuning F1 | held-out precision | "
        "held-out recall | held-out F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ("shipped", "best"):
        s = t[name]
        h = s["held_out"]
        lines.append(
            f"| {name} | {s['lexical']} | {s['threshold']} | {s['margin']} | "
            f"{s['tuning']['f1']:.3f} | {h['precision']:.3f} | {h['recall']:.3f} | {h['f1']:.3f} |"
        )
    k = report["keywords_held_out"]
    lines += [
        f"| keyword lists (baseline) | | | | | {k['precision']:.3f} | {k['recall']:.3f} | "
        f"{k['f1']:.3f} |",
        "",
        f"## Demo comments ({d['comments']:,}), through `earnright.comments_of_file`",
        "",
        "| method | precision | recall | F1 | top-1 |",
        "|---|---|---|---|---|",
        row("themes (shipped)", d["themes"]),
        row("keyword lists (baseline)", d["keywords"]),
        "",
        "| theme | comments | precision | recall | keyword precision | keyword recall |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in d["per_theme"].items():
        lines.append(
            f"| {name} | {s['comments']:,} | {s['precision']:.3f} | {s['recall']:.3f} | "
            f"{s['keyword_precision']:.3f} | {s['keyword_recall']:.3f} |"
        )
    lines += [
        "",
        f"Speed: {d['per_second']:,.0f} comments per second (sentiment and themes, the whole "
        f"call on {d['comments']:,} comments: {d['seconds']:.1f} s).",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=60)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="CI size; writes nothing")
    args = parser.parse_args()
    if args.smoke:
        args.stores, args.months = 6, 3
    texts, truth, half = bank()
    report: dict[str, Any] = {"stores": args.stores, "months": args.months, "seed": args.seed}
    report["tuning"] = tune(texts, truth, half)
    held = [t for t, h in zip(texts, half, strict=True) if not h]
    report["keywords_held_out"] = scores(keyword_themes(held), truth[~half])
    report["demo"] = demo_recovery(args.stores, args.months, args.seed)
    shipped = report["tuning"]["shipped"]["held_out"]["f1"]
    baseline = report["keywords_held_out"]["f1"]
    say(markdown(report))
    say(
        f"check: held-out F1 {shipped:.3f} (shipped constants; floor {FLOOR}) vs keyword lists "
        f"{baseline:.3f}"
    )
    if not args.smoke:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "themes.json").write_text(json.dumps(report, indent=2) + "\n")
        (RESULTS / "themes.md").write_text(markdown(report))
    return 0 if shipped >= FLOOR else 1


if __name__ == "__main__":
    sys.exit(main())
