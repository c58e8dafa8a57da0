"""Parameters by meaning (grader/binding.py): recipes proposed for a student's own signature."""
from __future__ import annotations

import numpy as np

from grader.scoring.binding import Source, label_parts, meaning_score, payload_for, recipes, signature, trivial


def _sig(source: str):
    import ast

    node = ast.parse(source).body[0]
    return signature(source, tuple(a.arg for a in node.args.args))


def test_words_that_mean_a_spec_parameter():
    assert meaning_score("lr", "learning_rate") and meaning_score("alpha", "learning_rate")
    assert meaning_score("number_epoch", "epochs") and meaning_score("nbEpoch", "epochs")
    assert meaning_score("expected_output", "y") and meaning_score("w_1", "w1") == 3
    assert meaning_score("x_train_prepro", "x_train", synonyms=False) == 2
    assert not meaning_score("forward_res", "x") and not meaning_score("x_test", "x_train")


def test_the_forward_results_are_proposed_for_a_parameter_that_means_nothing_the_check_gives():
    sig = _sig("def back_propagation(forward_res, expected_output):\n    return forward_res")
    found = recipes(sig, ["x", "y"], ["w1", "w2", "w3"], {"forward_pass": (2, ())}, [])
    assert trivial(found[0], ("x", "y"), sig, 2)  # (x, y) by position: the first pass's own call
    assert dict(found[1].binds)["forward_res"] == Source("result", "forward_pass")
    assert dict(found[1].binds)["expected_output"] == Source("input", "y")


def test_a_container_of_the_changes_and_globals_by_reference():
    sig = _sig("def weight_updates(back_res, learning_rate):\n    pass")
    found = recipes(sig, ["dw1", "dw2", "dw3", "learning_rate"], ["w1", "w2", "w3"], {}, [])
    packed = [r for r in found if dict(r.binds)["back_res"].kind == "pack"]
    assert packed and dict(packed[0].binds)["back_res"].names == ("dw1", "dw2", "dw3")
    payload, by_reference = payload_for(packed[0], {"dw1": 1, "dw2": 2, "dw3": 3, "learning_rate": 0.3}, {}, {}, {"w1": 0})
    assert payload["kwargs"] == {"back_res": (1, 2, 3), "learning_rate": 0.3} and not by_reference
    sig = _sig("def update(w1, w2, w3, dw1, dw2, dw3, lr):\n    pass")
    only = recipes(sig, ["dw1", "dw2", "dw3", "learning_rate"], ["w1", "w2", "w3"], {}, [])[0]
    assert payload_for(only, {"dw1": 1, "dw2": 2, "dw3": 3, "learning_rate": 0.3}, {}, {}, {})[1] == {"w1": "w1", "w2": "w2", "w3": "w3"}


def test_module_data_read_instead_of_taken_is_set_by_meaning():
    sig = _sig("def train(number_epoch, learning_rate, batch_size=64):\n    return x_train_prepro, y_train_prepro, other")
    (recipe,) = recipes(sig, ["x_train", "y_train", "x_test", "y_test", "epochs", "learning_rate", "batch_size"], ["w1"], {},
                        ["x_train_prepro", "y_train_prepro", "other"])
    assert set(recipe.data) == {("x_train_prepro", "x_train"), ("y_train_prepro", "y_train")}


def test_nothing_is_proposed_when_no_name_means_anything():
    assert recipes(_sig("def plot(a, b):\n    pass"), ["x", "y"], [], {}, []) == []


def test_parts_are_found_by_value_a_row_counting_as_a_vector():
    z1, a1 = np.arange(3.0), np.ones(3) / 3
    assert set(label_parts([(a1[None, :],), [z1]], (z1, a1), ("z1", "a1"))) == {"z1", "a1"}
