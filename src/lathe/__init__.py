"""lathe: from a table to a deployed, explained, monitored model.

>>> import lathe
>>> bundle = lathe.train("flights.parquet", target="late", budget=60)  # doctest: +SKIP
>>> bundle.predict(frame)  # doctest: +SKIP
"""

from lathe.bundle import Bundle
from lathe.errors import LatheError
from lathe.sklearn import LatheClassifier, LatheRegressor
from lathe.workflows import load_bundle as load
from lathe.workflows import predict, profile, train

__all__ = ["Bundle", "LatheClassifier", "LatheError", "LatheRegressor", "load", "predict", "profile", "train"]
