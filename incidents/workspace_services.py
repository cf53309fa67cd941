"""Alias of ``incidents.services`` (the workspace's writes and data-access audit).

Kept only because some modules import it under this name; import from
``incidents.services`` in new code.
"""

from incidents.services import (
    SavedQueryError,
    data_access_record,
    data_organisation,
    saved_query_create,
    saved_query_delete,
)

__all__ = [
    "SavedQueryError",
    "data_access_record",
    "data_organisation",
    "saved_query_create",
    "saved_query_delete",
]
