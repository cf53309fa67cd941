from __future__ import annotations

import os
import time
from typing import Any

from django.apps import AppConfig


def _pause(**kwargs: Any) -> None:
    delay = float(os.environ.get("ISTV_TEST_SUBMISSION_DELAY", "0") or 0)
    if delay:
        time.sleep(delay)


class FaultInjectionConfig(AppConfig):
    name = "tests.fault_injection"
    label = "fault_injection"

    def ready(self) -> None:
        from ingest.signals import load_progress

        load_progress.connect(_pause, dispatch_uid="tests-fault-injection-pause")
