"""Shared pytest configuration: the repository root on sys.path, and markers."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def isolation_params(cold: bool = False) -> list:
    """Every isolation mode as a pytest param: one that cannot start here is a skip that says why, never dropped.
    `cold`: also "bwrap-cold", bubblewrap started by its own launcher (GRADER_WARM=0), not by the warm process."""
    import pytest

    from grader.run.execute import probe_bwrap

    why = probe_bwrap()
    skip = pytest.mark.skipif(why is not None, reason=f"bubblewrap cannot start here: {why}")
    return [pytest.param("bwrap", marks=skip)] + ([pytest.param("bwrap-cold", marks=skip)] if cold else []) + [pytest.param("none")]


def cold_start(mode: str):
    """A context in which a "bwrap-cold" mode starts notebooks with the cold launcher; the mode for SandboxConfig."""
    import contextlib
    import os

    @contextlib.contextmanager
    def context():
        before = os.environ.get("GRADER_WARM")
        if mode == "bwrap-cold":
            os.environ["GRADER_WARM"] = "0"
        try:
            yield "bwrap" if mode == "bwrap-cold" else mode
        finally:
            if before is None:
                os.environ.pop("GRADER_WARM", None)
            else:
                os.environ["GRADER_WARM"] = before

    return context()
