"""LightGBM's fast path for one row at a time, for serving.

``Booster.predict`` sets up a predictor on every call, which costs about as much as walking the
trees of one row; LightGBM's C API can set it up once (``LGBM_BoosterPredictForMatSingleRowFastInit``)
and reuse it. The Python package does not wrap that pair of calls, so they are made here through
the library handle it loads (``lightgbm.basic._LIB``). The numbers are those of ``Booster.predict``:
the same predictor, set up once.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import lightgbm as lgb
import numpy as np
from lightgbm import basic
from lightgbm.basic import _safe_call

_LIB: Any = basic._LIB  # type: ignore[attr-defined]

_NORMAL = 0  # C_API_PREDICT_NORMAL: probabilities or numbers, as Booster.predict gives them
_RAW_SCORE = 1  # C_API_PREDICT_RAW_SCORE: margins, as Booster.predict(raw_score=True) gives them
_FLOAT64 = 1  # C_API_DTYPE_FLOAT64


class SingleRow:
    """Predicts one float64 row of ``booster``'s features (its margins where ``raw``); safe to call
    from several threads."""

    def __init__(self, booster: lgb.Booster, outputs: int, raw: bool = False) -> None:
        self.booster = booster  # the set-up predictor borrows the booster: keep it alive
        self.lock = threading.Lock()
        self.out = np.empty(outputs)
        self.written = ctypes.c_int64()
        self.config = ctypes.c_void_p()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle, ctypes.c_int(_RAW_SCORE if raw else _NORMAL), ctypes.c_int(0), ctypes.c_int(-1),
                ctypes.c_int(_FLOAT64),
                ctypes.c_int32(booster.num_feature()), ctypes.c_char_p(b"num_threads=1"), ctypes.byref(self.config),
            )
        )  # fmt: skip

    def __call__(self, row: np.ndarray) -> np.ndarray:
        """The prediction of ``row`` (contiguous float64), as one row of ``Booster.predict``'s output."""
        row = np.ascontiguousarray(row, dtype=np.float64)
        with self.lock:
            _safe_call(
                _LIB.LGBM_BoosterPredictForMatSingleRowFast(
                    self.config, row.ctypes.data_as(ctypes.c_void_p), ctypes.byref(self.written),
                    self.out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                )
            )  # fmt: skip
            return self.out.copy()

    def __del__(self) -> None:
        if self.config:
            _LIB.LGBM_FastConfigFree(self.config)
