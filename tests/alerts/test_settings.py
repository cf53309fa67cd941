"""The alert threshold comes from the environment, strictly read (istv_portal/env.py)."""

from __future__ import annotations

from typing import Any

import pytest

from istv_portal.env import ImproperlyConfiguredEnv, env_float


def test_env_float_reads_a_number_and_defaults_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ISTV_TEST_P", raising=False)
    assert env_float("ISTV_TEST_P", 0.01, minimum=1e-9, maximum=0.5) == 0.01
    monkeypatch.setenv("ISTV_TEST_P", "0.001")
    assert env_float("ISTV_TEST_P", 0.01, minimum=1e-9, maximum=0.5) == 0.001


@pytest.mark.parametrize("raw", ["one percent", "0", "0.9", "nan"])
def test_env_float_refuses_malformed_or_out_of_range_values(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("ISTV_TEST_P", raw)
    with pytest.raises(ImproperlyConfiguredEnv, match="ISTV_TEST_P"):
        env_float("ISTV_TEST_P", 0.01, minimum=1e-9, maximum=0.5)


def test_the_alert_settings_have_their_documented_defaults(settings: Any) -> None:
    assert settings.ALERT_P_VALUE == 0.01
    assert settings.ALERT_MIN_OBSERVED == 5
