"""Candidates and the leaderboard that ranks them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from lathe._tables import Summary, summary_html, summary_text

SCHEMA_VERSION = 1
SHOWN = 10
# Short names of the searched parameters, for a terminal's narrow columns (``Candidate.brief``).
SHORT_NAMES = {
    "num_leaves": "leaves", "max_depth": "depth", "learning_rate": "lr", "min_child_samples": "min_leaf",
    "min_child_weight": "min_weight", "feature_fraction": "col_frac", "colsample_bytree": "col_frac",
    "bagging_fraction": "row_frac", "subsample": "row_frac", "lambda_l2": "l2", "reg_lambda": "l2",
    "l2_leaf_reg": "l2", "random_strength": "rand_str",
}  # fmt: skip


@dataclass(frozen=True)
class Candidate:
    """One trained configuration with its cross-validated score and cost."""

    number: int
    family: str
    params: dict[str, Any]
    cv_score: float
    cv_std: float
    fit_seconds: float
    elapsed_seconds: float
    rounds: int | None = None
    fold_scores: tuple[float, ...] = field(default=())
    predict_seconds_per_1k: float | None = None

    @property
    def described(self) -> str:
        """The parameters in a line: ``name=value`` pairs, or a blend's weighted members."""
        if self.family == "blend":
            members = " + ".join(f"{w:.3g} * #{n}" for n, w in self.params["members"])
            offset = self.params.get("offset", 0.0)
            return members + (f" {'+' if offset >= 0 else '-'} {abs(offset):.3g}" if offset else "")
        return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.params.items())

    @property
    def brief(self) -> tuple[str, ...]:
        """The parameters as short words, for a terminal: ``name=value`` with a short name
        (``SHORT_NAMES``; ``described`` has the full ones), or a blend's weighted members."""
        if self.family == "blend":
            members = [f"{'+' if i else ''}{w:.2g}*#{n}" for i, (n, w) in enumerate(self.params["members"])]
            offset = self.params.get("offset", 0.0)
            return (*members, f"{offset:+.2g}") if offset else tuple(members)
        return tuple(f"{SHORT_NAMES.get(k, k)}={_short(v)}" for k, v in self.params.items())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**dataclasses.asdict(self), "fold_scores": list(self.fold_scores)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        """The inverse of ``to_dict``."""
        return cls(**{**data, "fold_scores": tuple(data.get("fold_scores", ()))})


@dataclass(frozen=True)
class Leaderboard:
    """Candidates ranked best first by their cross-validated ``metric``. ``threshold``: for a
    binary metric that decides classes, the best candidate's decision threshold on the positive
    class's probability, tuned on its out-of-fold predictions (None: the most probable class)."""

    metric: str
    greater_is_better: bool
    candidates: tuple[Candidate, ...]
    threshold: float | None = None

    def ranked(self) -> list[Candidate]:
        """Candidates, best first; on a tie, a blend first (it is kept only where it beats the best
        candidate, or calibrates it without changing its score: ROC AUC, say), then the earliest."""
        sign = -1.0 if self.greater_is_better else 1.0
        return sorted(self.candidates, key=lambda c: (sign * c.cv_score, c.family != "blend", c.number))

    @property
    def best(self) -> Candidate:
        """The winning candidate."""
        return self.ranked()[0]

    def with_candidate(self, candidate: Candidate) -> Leaderboard:
        """A new leaderboard with ``candidate`` added."""
        return dataclasses.replace(self, candidates=(*self.candidates, candidate))

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per candidate, best first, with its rank and its parameters in a line."""
        return [{"rank": i, **c.to_dict(), "described": c.described} for i, c in enumerate(self.ranked(), start=1)]

    def _summary(self) -> Summary:
        direction = "higher" if self.greater_is_better else "lower"
        title = f"Leaderboard: {len(self.candidates)} candidates by {self.metric} ({direction} is better)"
        headers = ["rank", "#", "family", self.metric, "± std", "fit s/fold", "predict s/1k", "params"]
        rows: list[list[object]] = [
            [i, c.number, c.family, c.cv_score, c.cv_std, round(c.fit_seconds, 3), _seconds(c.predict_seconds_per_1k),
             c.described]
            for i, c in enumerate(self.ranked()[:SHOWN], start=1)
        ]  # fmt: skip
        return title, headers, rows, len(self.candidates)

    def __repr__(self) -> str:
        return summary_text(self._summary())

    def _repr_html_(self) -> str:
        return summary_html(self._summary())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with a schema version."""
        return {
            "schema_version": SCHEMA_VERSION,
            "metric": self.metric,
            "greater_is_better": self.greater_is_better,
            "candidates": [c.to_dict() for c in self.candidates],
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Leaderboard:
        """The inverse of ``to_dict``."""
        candidates = tuple(Candidate.from_dict(c) for c in data["candidates"])
        return cls(data["metric"], data["greater_is_better"], candidates, data.get("threshold"))


def _seconds(value: float | None) -> object:
    return "-" if value is None else round(value, 4)


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
