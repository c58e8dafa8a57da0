"""Banks of variants: the realistic mistakes of an assignment, and the accepted alternatives.

An assignment's `bank.py` writes each variant as a plain function marked
with a decorator:

    @mistake("softmax", "exp() of raw logits overflows: subtract the column max first")
    def softmax_unstable(a):
        ...

Variants serve twice. While grading, a wrong answer that equals a banked
mistake's answer on the same inputs is named by it; an answer equal to an
accepted variant's passes with a note (code the handout itself gives).
In `grader selftest`, every mistake is written into the solution notebook in
place of the right function, and must be caught and named.
"""
from __future__ import annotations

import ast
import contextlib
import functools
import inspect
import io
import textwrap
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Variant:
    id: str  # "softmax-unstable"
    function: str  # graded name: "softmax" or "NeuralNet.grad_loss"
    text: str  # the one-line diagnosis a student reads
    kind: str  # "mistake" | "accepted"
    impl: Callable[..., Any]
    notebook_code: str = ""  # extra code the variant needs in a notebook (selftest)
    named_by: tuple[str, ...] = ()  # generic diagnoses that also name it (e.g. "modifies-input")

    def source(self) -> str:
        """The variant as notebook code defining the graded name (with the bank's private helpers it uses)."""
        code = textwrap.dedent(inspect.getsource(self.impl))
        module = inspect.getmodule(self.impl)
        used = {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}
        helpers = "".join(
            textwrap.dedent(inspect.getsource(getattr(module, name))) + "\n"
            for name in sorted(used)
            if name.startswith("_") and inspect.isfunction(getattr(module, name, None))
        )
        tree = ast.parse(code)
        fn = tree.body[0]
        assert isinstance(fn, ast.FunctionDef)
        fn.decorator_list = []
        if "." in self.function:
            cls, method = self.function.split(".", 1)
            fn.name = f"_variant_{method}"
            return f"{ast.unparse(tree)}\n{cls}.{method} = {fn.name}\n"
        fn.name = self.function
        return self.notebook_code + helpers + ast.unparse(tree) + "\n"


def _marker(kind: str, function: str, text: str, notebook_code: str = "", named_by: tuple[str, ...] = ()):
    def mark(impl: Callable) -> Callable:
        impl.__variant__ = Variant(  # type: ignore[attr-defined]
            id=impl.__name__.replace("_", "-"),
            function=function,
            text=text,
            kind=kind,
            impl=impl,
            notebook_code=notebook_code,
            named_by=tuple(named_by),
        )
        return impl

    return mark


def mistake(function: str, text: str, notebook_code: str = "", named_by: tuple[str, ...] = ()):
    """Mark a function as a banked mistake for a graded function."""
    return _marker("mistake", function, text, notebook_code, named_by)


def accepted(function: str, text: str):
    """Mark a function as an accepted alternative (passes, with a note)."""
    return _marker("accepted", function, text)


def partial_credit(function: str):
    """Mark a behavioural check: f(inputs, student_value, reference_value) -> (fraction, message)."""

    def mark(impl: Callable) -> Callable:
        return impl  # the spec names it (`partial = {function = ...}`); the mark documents the bank

    return mark


def behavioural_credit(spec, probe, outcome) -> tuple[float, str] | None:
    """Behavioural partial credit from the bank (spec key `partial`, e.g. a training loss that falls like the
    reference's): (points, message) for a call that ran, else None."""
    module = spec.bank_module()
    name = probe.check.partial.get("function")
    if not name or module is None or outcome.status != "ok":
        return None
    fn = getattr(module, name)
    with contextlib.redirect_stdout(io.StringIO()):
        fraction, message = fn(probe.env, outcome.value, probe.expected)
    return max(0.0, min(1.0, fraction)) * float(probe.check.partial.get("points", 0.0)), message


def variants(module) -> list[Variant]:
    """Every variant in a bank module, in source order."""
    return [] if module is None else list(_variants(module))


@functools.lru_cache(maxsize=64)  # asked for at every verdict; a bank module does not change once imported
def _variants(module) -> tuple[Variant, ...]:
    found = [v.__variant__ for v in vars(module).values() if hasattr(v, "__variant__")]
    return tuple(sorted(found, key=_source_line))


def _source_line(variant: Variant) -> int:
    """Where the variant is defined (its first decorator): read from its code object, not by tokenizing its file."""
    code = getattr(inspect.unwrap(variant.impl), "__code__", None)
    return code.co_firstlineno if code is not None else inspect.getsourcelines(variant.impl)[1]


def for_function(module, function: str, kind: str | None = None) -> list[Variant]:
    return [v for v in variants(module) if v.function == function and (kind is None or v.kind == kind)]
