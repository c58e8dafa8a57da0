"""Other layouts of the same inputs, for a student's own signature (issue 22 item 5): samples in columns, targets one-hot.

A vectorised network may keep its samples in columns (X of shape (n_in, N), W of (n_hidden, n_in),
biases as (n, 1) columns) and its targets as one-hot columns; the math is the handout's. The check's
inputs are given in that layout (each matrix transposed, each bias a column, the class labels one-hot),
and what comes back is read in the handout's layout again (each matrix transposed back, each column
flattened) before it is compared by value. Pure: no calls.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

BIASES = ("b", "c")  # the handout's bias vectors: a column each in the columns layout
TARGETS = ("target", "targets")


@dataclass(frozen=True)
class Layout:
    columns: bool = False  # samples in columns: every matrix transposed, every bias a column
    onehot: bool = False  # the class labels given as one-hot rows (columns, with `columns`)

    def words(self) -> str:
        parts = (["samples in columns (each matrix transposed, each bias a column)"] if self.columns else []) + \
                (["the targets one-hot"] if self.onehot else [])
        return " and ".join(parts)


OTHERS = (Layout(columns=True), Layout(onehot=True), Layout(columns=True, onehot=True))


def given(value: Any, name: str, layout: Layout, classes: int) -> Any:
    """One input (or a table of them: params['W1']) in `layout`; `name` is the spec input it stands for."""
    if isinstance(value, dict):
        return {k: given(v, k, layout, classes) for k, v in value.items()}
    if not isinstance(value, np.ndarray):
        return value
    if layout.onehot and name in TARGETS and value.dtype.kind in "iu" and value.ndim <= 1 and classes > 0:
        value = np.eye(classes)[value]
    if layout.columns:
        if value.ndim == 2:
            return np.ascontiguousarray(value.T)
        if value.ndim == 1 and name in BIASES:
            return value[:, None]
    return value


def given_as(value: Any, source: Any, param: str, layout: Layout, classes: int) -> Any:
    """A bound parameter's value in `layout`: an input by its spec name, a table of inputs key by key."""
    if source is not None and source.kind == "dict" and isinstance(value, dict):
        spec_names = dict(zip(source.keys, source.names))
        return {k: given(v, spec_names.get(k, k), layout, classes) for k, v in value.items()}
    return given(value, source.name if source is not None and source.kind == "input" else param, layout, classes)


def read_back(value: Any, layout: Layout) -> Any:
    """What came back, in the handout's layout: every matrix transposed back (a batch of one's (n, 1) column
    is its (1, n) row; a bias gradient left as a column stays 2-D, as the handout's shapes would catch)."""
    if not layout.columns:
        return value
    if isinstance(value, dict):
        return {k: read_back(v, layout) for k, v in value.items()}
    if isinstance(value, (tuple, list)) and not all(isinstance(v, (int, float)) for v in value):
        return type(value)(read_back(v, layout) for v in value)
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return np.ascontiguousarray(value.T)
    return value


def batch_size_globals(reads: tuple[str, ...], known: dict[str, Any]) -> dict[str, int]:
    """Module globals a function reads for the batch's size (`m_batch`, set by the student's own training loop):
    the check's batch size."""
    rows = next((len(v) for k, v in known.items() if k in ("X", "x") and isinstance(v, np.ndarray) and v.ndim == 2), 0)
    return {g: rows for g in reads if rows and ("batch" in g.lower() or g in ("m", "m_b", "n_batch"))}
