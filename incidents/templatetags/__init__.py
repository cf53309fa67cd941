"""Template filters of the analyst workspace (``{% load counts %}``)."""
