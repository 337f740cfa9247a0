"""lathe's search as scikit-learn estimators: ``LatheClassifier`` and ``LatheRegressor``.

They follow scikit-learn's estimator contract, so they go wherever an estimator goes
(``cross_val_score``, ``Pipeline``, ``GridSearchCV``, ``clone``). ``fit`` runs
``lathe.train`` on the rows it is given and keeps the result, an ordinary lathe bundle,
in ``bundle_``:

>>> from lathe import LatheClassifier
>>> clf = LatheClassifier(trials=2).fit(X, y)  # doctest: +SKIP
>>> clf.bundle_.save("models/churn")  # doctest: +SKIP

Numpy arrays get the column names ``x0 .. x{n-1}``; pandas frames keep theirs (and their
column kinds: text, categories and dates are featurised as ``lathe.train`` does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from lathe import search, workflows

if TYPE_CHECKING:
    from lathe.bundle import Bundle
    from lathe.search import Leaderboard

__all__ = ["LatheClassifier", "LatheRegressor", "expected_failed_checks"]

MIN_SAMPLES = 2

_REPEATED_ROWS = (
    "weights are honoured by every fit, but LightGBM's minimum leaf size and the search's cross-validation "
    "folds (and so a blend's weights and a calibration) count rows, so repeating a row is not the same as "
    "doubling its weight"
)


class _LatheEstimator(BaseEstimator):  # type: ignore[misc]
    """What the classifier and the regressor share: parameters, validation and ``fit``."""

    _y_numeric: ClassVar[bool] = False

    def __init__(
        self,
        budget: float | None = None,
        trials: int | None = 10,
        metric: str | None = None,
        seed: int = 0,
        holdout: float = 0.0,
        verbose: bool = False,
    ) -> None:
        self.budget = budget
        self.trials = trials
        self.metric = metric
        self.seed = seed
        self.holdout = holdout
        self.verbose = verbose

    def fit(
        self, X: pd.DataFrame | npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> Self:
        """Search for the best model of ``y`` from ``X`` (rows weighted by ``sample_weight``)."""
        frame, labels = self._validated(X, y)
        weight = None if sample_weight is None else _check_sample_weight(sample_weight, frame, ensure_non_negative=True)
        self._check_labels(labels, weight)
        data, target, weight_column = _training_frame(frame, labels, weight)
        self.bundle_: Bundle = workflows.train(
            data, target=target, budget=self.budget, trials=self.trials, task=self._task(), metric=self.metric,
            seed=self.seed, verbose=self.verbose, weight=weight_column, holdout=self.holdout,
            drop_duplicates=False,  # repeated rows are samples here, as everywhere in scikit-learn
            keep_suspected_leaks=True,  # X is chosen by the caller; suspects are reported in bundle_.manifest
        )  # fmt: skip
        self.leaderboard_: Leaderboard = self.bundle_.leaderboard
        return self

    def _task(self) -> str:
        raise NotImplementedError

    def _check_labels(self, y: np.ndarray, weight: np.ndarray | None) -> None:
        del y, weight

    def _validated(self, X: pd.DataFrame | npt.ArrayLike, y: npt.ArrayLike) -> tuple[pd.DataFrame, np.ndarray]:
        if isinstance(X, pd.DataFrame):
            return self._validated_frame(X, y)
        array, labels = validate_data(
            self, X, y, dtype="numeric", ensure_all_finite="allow-nan", ensure_min_samples=MIN_SAMPLES,
            y_numeric=self._y_numeric,
        )  # fmt: skip
        return self._named(array), np.asarray(labels)

    def _validated_frame(self, X: pd.DataFrame, y: npt.ArrayLike) -> tuple[pd.DataFrame, np.ndarray]:
        validate_data(self, X, skip_check_array=True)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        labels = check_array(y, ensure_2d=False, dtype="numeric" if self._y_numeric else None, input_name="y")
        labels = column_or_1d(labels, warn=True)
        check_consistent_length(X, labels)
        return self._named(X), labels

    def _frame(self, X: pd.DataFrame | npt.ArrayLike) -> pd.DataFrame:
        """``X`` checked against what ``fit`` saw, as a frame with the training column names."""
        check_is_fitted(self)
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True, reset=False)
            return self._named(X)
        array = validate_data(self, X, dtype="numeric", ensure_all_finite="allow-nan", reset=False)
        return self._named(array)

    def _named(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        names = getattr(self, "feature_names_in_", None)
        columns = [str(n) for n in names] if names is not None else [f"x{i}" for i in range(np.shape(X)[1])]
        if isinstance(X, pd.DataFrame):
            return X.set_axis(columns, axis=1).reset_index(drop=True)
        return pd.DataFrame(np.asarray(X), columns=columns)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are imputed by the feature plan
        return tags


def expected_failed_checks(estimator: BaseEstimator) -> dict[str, str]:
    """The scikit-learn checks ``estimator`` does not pass, with the reason (docs/sklearn.md lists them too).

    For ``check_estimator(est, expected_failed_checks=expected_failed_checks(est))``.
    """
    del estimator  # the same for both
    return {"check_sample_weight_equivalence_on_dense_data": _REPEATED_ROWS}


class LatheClassifier(ClassifierMixin, _LatheEstimator):  # type: ignore[misc]
    """lathe's search for a classifier, as a scikit-learn estimator.

    Parameters: ``budget`` (seconds, or None), ``trials`` (candidates; the default 10 makes
    fits reproducible for a ``seed``), ``metric`` (``roc_auc``, ``log_loss``, ``accuracy``),
    ``seed``, ``holdout`` (share of rows kept back for the bundle's report; 0 fits on all),
    ``verbose`` (show the search's progress).

    Fitted attributes: ``bundle_`` (the lathe bundle), ``leaderboard_``, ``classes_``,
    ``n_features_in_`` and ``feature_names_in_`` (when ``X`` has string column names).

    scikit-learn's ``check_estimator`` passes (with ``trials=2``) but for the checks in
    ``expected_failed_checks``.
    """

    def _task(self) -> str:
        return "binary" if len(self.classes_) == 2 else "multiclass"

    def _check_labels(self, y: np.ndarray, weight: np.ndarray | None) -> None:
        check_classification_targets(y)
        self.classes_: np.ndarray = np.unique(y)
        weighed = self.classes_ if weight is None else np.unique(y[weight > 0])
        if len(weighed) < 2:
            raise ValueError(f"y holds one class ({weighed[0]!r}) with weight; a classifier needs at least two classes")

    def predict_proba(self, X: pd.DataFrame | npt.ArrayLike) -> np.ndarray:
        """Class probabilities, one column per class of ``classes_``."""
        frame = self._frame(X)
        scored = self.bundle_.predict(frame)
        return scored[[f"probability_{c}" for c in self.bundle_.classes]].to_numpy(dtype="float64")

    def predict(self, X: pd.DataFrame | npt.ArrayLike) -> np.ndarray:
        """The predicted class of each row: the most probable, or for binary with a metric that
        decides classes, the positive class where its probability reaches the tuned threshold."""
        proba = self.predict_proba(X)
        return np.asarray(self.classes_[search.decided(proba, self.bundle_.threshold)])


class LatheRegressor(RegressorMixin, _LatheEstimator):  # type: ignore[misc]
    """lathe's search for a regressor, as a scikit-learn estimator.

    Parameters: ``budget`` (seconds, or None), ``trials`` (candidates; the default 10 makes
    fits reproducible for a ``seed``), ``metric`` (``rmse``, ``mae``, ``r2``), ``seed``,
    ``holdout`` (share of rows kept back for the bundle's report; 0 fits on all),
    ``verbose`` (show the search's progress).

    Fitted attributes: ``bundle_`` (the lathe bundle), ``leaderboard_``, ``n_features_in_``
    and ``feature_names_in_`` (when ``X`` has string column names).

    scikit-learn's ``check_estimator`` passes (with ``trials=2``) except for one check,
    marked as expected to fail (``expected_failed_checks``):

    - ``check_sample_weight_equivalence_on_dense_data``: weights are honoured by every fit,
      but LightGBM's minimum leaf size and the search's cross-validation folds count rows,
      so repeating a row is not the same as doubling its weight.

    ``check_array_api_input`` is skipped by scikit-learn itself unless ``SCIPY_ARRAY_API=1``
    is set: lathe does not take Array API inputs.
    """

    _y_numeric: ClassVar[bool] = True

    def _task(self) -> str:
        return "regression"

    def predict(self, X: pd.DataFrame | npt.ArrayLike) -> np.ndarray:
        """The predicted number for each row."""
        frame = self._frame(X)
        return self.bundle_.predict(frame)["prediction"].to_numpy(dtype="float64")


def _training_frame(X: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None) -> tuple[pd.DataFrame, str, str | None]:
    """``X`` with the target (and the weights) as columns named apart from the features."""
    target = _free_name("target", X.columns)
    data = X.assign(**{target: y})
    if weight is None:
        return data, target, None
    weight_column = _free_name("weight", data.columns)
    return data.assign(**{weight_column: weight}), target, weight_column


def _free_name(name: str, taken: pd.Index) -> str:
    while name in taken:
        name = f"_{name}"
    return name
