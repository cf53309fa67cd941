"""Names the dead-code check (vulture, ``[tool.vulture]`` in pyproject.toml) cannot see used.

Only true false positives belong here: a name a library uses that no project code does.
Each line names it; vulture counts any use of a name as a use of every definition of it.
"""

# drf-spectacular passes it to OpenApiAuthenticationExtension.get_security_definition
# (incidents/api/schema.py), whose signature the extension must keep.
auto_schema  # noqa: B018, F821
