"""`.ci/run` and the Makefile wire CI to exactly the same gates a developer runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
CI_RUN = ROOT / ".ci" / "run"


def test_ci_script_is_executable_bash_that_parses():
    assert os.access(CI_RUN, os.X_OK)
    assert CI_RUN.read_text().startswith("#!/usr/bin/env bash\n")
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    result = subprocess.run([bash, "-n", str(CI_RUN)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_ci_script_starts_services_then_runs_exactly_make_test():
    lines = [
        line.strip()
        for line in CI_RUN.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]

    assert lines[-1] == "make test"
    assert "set -euo pipefail" in lines
    text = "\n".join(lines)
    assert "export DATABASE_URL=postgres://postgres@127.0.0.1:5432/istv" in text
    assert "export REDIS_URL=redis://127.0.0.1:6379/0" in text
    assert "pg_isready" in text and "redis-cli" in text and "ping" in text
    # apt-get runs only when something is missing, and only after an update.
    assert text.index("apt-get update") < text.index("apt-get install")


def test_make_targets_call_the_launcher():
    makefile = (ROOT / "Makefile").read_text()

    for target, command in [("run", "run"), ("test", "test"), ("check", "check")]:
        rule = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
        assert rule, f"no {target} target"
        assert f"scripts/devstack.py {command}" in rule.group(1)
