"""Reference-data tests reuse the submission fixtures (private storage, a mapped site)."""

from tests.submissions.conftest import mapped_site, private_storage, receive

__all__ = ["mapped_site", "private_storage", "receive"]
