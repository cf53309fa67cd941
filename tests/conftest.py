"""Shared fixtures. Personas and the permission matrix live here (see tests/accounts)."""
