"""The workspace API's token client, for the intruder tests that attack the real API."""

from tests.workspace_api.conftest import api_as

__all__ = ["api_as"]
