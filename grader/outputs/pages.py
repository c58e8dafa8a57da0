"""What every HTML page of the grader shares: the jinja2 environment and the Content-Security-Policy.

Student-controlled text (outputs, cell sources, tracebacks, even the submission id) is
untrusted: every template is autoescaped, whatever its name, and a page may fetch nothing
and run at most one script, pinned by its hash.
"""
from __future__ import annotations

import base64
import hashlib

import jinja2

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("grader", "templates"),
    autoescape=True,  # every template, whatever its name: student text is untrusted
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def csp(script: str | None) -> str:
    """No fetches at all; inline styles; at most one script, pinned by its hash."""
    scripts = "'none'"
    if script is not None:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
        scripts = f"'sha256-{digest}'"
    return (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            f"script-src {scripts}; base-uri 'none'; form-action 'none'")
