"""The analyst workspace's REST API, mounted at /api/v1/ (docs/api.md)."""
