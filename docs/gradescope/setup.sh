#!/usr/bin/env bash
# Gradescope image setup: the grader's Python dependencies and bubblewrap for the sandbox.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip bubblewrap >/dev/null || true
python3 -m pip install --quiet -e /autograder/source
