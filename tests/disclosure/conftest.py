"""The workspace API's token client (``api_as``, from tests/conftest.py) serves the
intruder tests that attack the real API."""
