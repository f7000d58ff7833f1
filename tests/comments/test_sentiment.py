"""Sentiment and embeddings of comments: the contract on any text (no data beside the project)."""

from __future__ import annotations

import numpy as np

from earnright.comments.embed import dimension, embed
from earnright.comments.sentiment import LABELS, score


def test_embeddings_are_unit_rows_of_a_fixed_dimension_and_blank_is_zero() -> None:
    x = embed(["Great service, thank you!", "", "   ", "the queue was long"])
    assert x.dtype == np.float32
    assert x.shape == (4, dimension())
    norms = np.linalg.norm(x, axis=1)
    np.testing.assert_allclose(norms[[0, 3]], 1.0, rtol=1e-5)
    assert norms[1] == norms[2] == 0.0


def test_similar_comments_are_closer_than_unrelated_ones() -> None:
    x = embed(["the staff were rude", "staff was very rude to me", "parking is free on sundays"])
    assert x[0] @ x[1] > x[0] @ x[2] + 0.2


def test_blank_and_missing_text_is_neutral_with_score_zero() -> None:
    s = score(["", "  \n\t", None, "😀"])
    assert list(s.labels[:3]) == ["neutral"] * 3
    assert list(s.scores[:3]) == [0.0, 0.0, 0.0]


def test_clear_comments_get_their_sentiment() -> None:
    s = score(["I love this shop, the staff are wonderful", "Awful, rude staff, never again"])
    assert list(s.labels) == ["positive", "negative"]
    assert s.scores[0] > 0.5 > -0.5 > s.scores[1]


def test_labels_agree_with_scores_and_scores_stay_in_range() -> None:
    texts = ["ok", "fine I guess", "meh", "not bad", "not good", "could be better", "superb"]
    s = score(texts * 3)
    assert set(s.labels) <= set(LABELS)
    assert np.all((s.scores >= -1) & (s.scores <= 1))
    assert np.all(s.scores[s.labels == "positive"] > 0)
    assert np.all(s.scores[s.labels == "negative"] < 0)
    np.testing.assert_allclose(s.probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_odd_input_is_scored_without_error() -> None:
    long = "the delivery was late and the box was damaged. " * 2000
    texts = [long, "Très mauvais service", "非常好", "👍👍👍", "\x00\x07 broken \ufffd", "A" * 300]
    s = score(texts)
    assert len(s) == len(texts)
    # a complaint repeated 2,000 times: negative-leaning (neutral since the head learned
    # factual service statements as neutral; see docs/comments.md, Limits)
    assert s.labels[0] != "positive" and s.scores[0] < 0
    assert np.isfinite(s.scores).all()


def test_scores_are_deterministic_and_independent_of_batching() -> None:
    texts = [f"visit {i}: {'great' if i % 3 else 'bad'} experience" for i in range(5000)]
    whole = score(texts)
    parts = [score(texts[:1]), score(texts[1:2500]), score(texts[2500:])]
    np.testing.assert_array_equal(whole.labels, np.concatenate([p.labels for p in parts]))
    np.testing.assert_allclose(whole.scores, np.concatenate([p.scores for p in parts]), atol=1e-5)
    again = score(texts)
    np.testing.assert_array_equal(whole.scores, again.scores)
