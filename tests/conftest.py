"""Shared pytest configuration: the repository root on sys.path, and markers."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def isolation_params() -> list:
    """Every isolation mode as a pytest param: one that cannot start here is a skip that says why, never dropped."""
    import pytest

    from grader.run.execute import probe_bwrap

    why = probe_bwrap()
    bwrap = pytest.param("bwrap", marks=pytest.mark.skipif(why is not None, reason=f"bubblewrap cannot start here: {why}"))
    return [bwrap, pytest.param("none")]
