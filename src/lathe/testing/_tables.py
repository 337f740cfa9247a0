"""Small generated tables with a known signal, one column of each semantic type."""

from __future__ import annotations

import numpy as np
import pandas as pd


def mixed_table(rows: int = 400, task: str = "binary", seed: int = 0) -> pd.DataFrame:
    """A table with numeric, categorical, boolean, datetime, text, id, constant and
    all-missing columns, and a ``target`` learnable from them.

    ``task`` is binary (labels "yes"/"no"), multiclass (labels "a", "b", "c") or regression.
    """
    rng = np.random.default_rng(seed)
    amount = rng.gamma(2.0, 50.0, rows)
    amount[rng.random(rows) < 0.1] = np.nan
    plan = rng.choice(["basic", "plus", "pro"], rows, p=[0.5, 0.3, 0.2])
    active = rng.random(rows) < 0.6
    signup = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24, rows), unit="h")
    words = np.array(["late", "refund", "thanks", "broken", "great", "slow", "help"])
    note = [" ".join(rng.choice(words, int(k))) for k in rng.integers(3, 9, rows)]
    score = np.nan_to_num(amount, nan=100.0) / 100 + (plan == "pro") * 1.5 - active * 1.0 + rng.normal(0, 0.3, rows)
    frame = pd.DataFrame({
        "customer_id": np.arange(1000, 1000 + rows),
        "amount": amount,
        "plan": plan,
        "active": active,
        "signup": signup,
        "note": note,
        "country": "NL",
        "unused": np.full(rows, np.nan),
    })  # fmt: skip
    frame["target"] = _target(score, task)
    return frame


def shops_table(rows: int = 400, task: str = "binary", seed: int = 0) -> pd.DataFrame:
    """``mixed_table`` with a ``shop`` column of about 40 levels (too many for one-hot), each
    within one plan, so that it tells about the target; a few shops are missing or rare."""
    frame = mixed_table(rows, task, seed)
    rng = np.random.default_rng(seed + 1)
    frame["shop"] = [f"{plan}-{k}" for plan, k in zip(frame["plan"], rng.integers(0, 13, rows), strict=True)]
    frame.loc[frame.index[:4], "shop"] = [None, None, "closed-1", "closed-2"]
    return frame


GOOD = ("love", "perfect", "sturdy", "recommend", "excellent", "comfy", "bright", "fast", "gorgeous", "solid",
        "works", "happy")  # fmt: skip
BAD = ("broken", "refund", "cheap", "flimsy", "returned", "awful", "late", "leaks", "smells", "faulty", "scratched",
       "useless")  # fmt: skip
FILLER = ("the", "a", "it", "is", "was", "and", "for", "my", "this", "with", "on", "of", "to", "in", "box", "size",
          "color", "bought", "ordered", "gift", "daughter", "kitchen", "arrived", "week", "after", "product",
          "price", "item", "used", "two", "days", "again", "really", "very", "but", "so", "just", "one", "also",
          "time")  # fmt: skip


def reviews_table(rows: int = 1000, task: str = "binary", seed: int = 0) -> pd.DataFrame:
    """A table of product reviews: a free text ``review`` whose words tell about the ``target``
    (a few lean one way, a few the other, most say nothing; its length says nothing), in mixed
    case with punctuation and sometimes missing, a ``price`` that tells a little, and a
    ``review_id``. ``task`` as for ``mixed_table``."""
    rng = np.random.default_rng(seed)
    mood = rng.normal(0.0, 1.0, rows)
    price = rng.gamma(2.0, 20.0, rows)
    good = 1.0 / (1.0 + np.exp(-2.0 * mood))  # the chance that a telling word is a good one
    reviews = []
    for share, length in zip(good, rng.integers(4, 16, rows), strict=True):
        telling = rng.random(length) < 0.3
        leaning = np.where(rng.random(length) < share, rng.choice(GOOD, length), rng.choice(BAD, length))
        words = np.where(telling, leaning, rng.choice(FILLER, length))
        reviews.append(" ".join(words).capitalize() + rng.choice([".", "!", "!!", "..."]))
    frame = pd.DataFrame({"review_id": np.arange(1, rows + 1), "price": price, "review": reviews})
    frame.loc[rng.random(rows) < 0.05, "review"] = None
    frame["target"] = _target(mood + 0.2 * (price - 40.0) / 20.0 + rng.normal(0.0, 0.3, rows), task)
    return frame


def _target(score: np.ndarray, task: str) -> np.ndarray:
    if task == "regression":
        return score * 10.0
    if task == "multiclass":
        edges = np.quantile(score, [1 / 3, 2 / 3])
        return np.array(["a", "b", "c"])[np.searchsorted(edges, score)]
    return np.where(score > np.median(score), "yes", "no")


PERSONAL_VALUES: dict[str, list[str]] = {
    "email": [f"person{i}@example.org" for i in range(8)],
    "phone": [f"+31 6 1234 56{i:02d}" for i in range(8)],
    "card": ["4111 1111 1111 1111", "5500 0000 0000 0004", "3400 0000 0000 009", "6011 0000 0000 0004"] * 2,
    "iban": ["NL91 ABNA 0417 1643 00", "DE89 3704 0044 0532 0130 00"] * 4,
    "ssn": [f"123-45-67{i:02d}" for i in range(8)],
    "ip": [f"10.0.0.{i}" for i in range(8)],
    "full_name": ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"] * 2,
    "street": [f"{i} Baker Street" for i in range(8)],
}
"""Personal data of every kind lathe detects, written as text, by a column name that fits it."""
