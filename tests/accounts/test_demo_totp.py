import io

import pytest
from allauth.mfa.totp.internal.auth import validate_totp_code
from django.core.management import CommandError, call_command

from accounts.demo import DEMO_TOTP_SECRET


def test_demo_totp_prints_a_code_the_demo_secret_accepts():
    out = io.StringIO()
    call_command("demo_totp", stdout=out)
    code = out.getvalue().split()[0]
    assert len(code) == 6
    assert validate_totp_code(DEMO_TOTP_SECRET, code)


def test_demo_totp_refuses_production_settings(monkeypatch):
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "istv_portal.settings.production")
    with pytest.raises(CommandError, match="production"):
        call_command("demo_totp")
