"""Does a notebook's code write MNIST's own counts? Then it is served a data set of those counts (issue 22 item 2).

The embedded data set is small (7,505 training and 296 test images) so that top-level training stays
fast. Code written against real MNIST often hard-codes its sizes: `x_train.reshape(60000, 784)`,
`assert x.shape == (784, 60000)`, `x_train[50000:]` for a validation split. The data the grader
serves is the grader's choice, so such a notebook gets the same digits at MNIST's counts
(`--data embedded-mnist`): 60,000 training and 10,000 test images.
"""
from __future__ import annotations

import ast

from grader.notebook.cells import parse_cell
from grader.notebook.load import Notebook

MNIST_NUMBERS = frozenset({60000, 50000, 10000, 70000})  # train, its usual train/validation split, test, all


def writes_mnist_counts(nb: Notebook) -> bool:
    """True when a code cell holds one of MNIST's counts as an integer literal (60000, 50000, 10000, 70000)."""
    for cell in nb.code_cells():
        _, tree, _, _ = parse_cell(cell.source)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and type(node.value) is int and node.value in MNIST_NUMBERS:
                return True
    return False
