"""Production settings for the quality gate's ``manage.py check --deploy`` only.

``scripts/devstack.py`` runs the deployment checks against the development or CI
database, which the portal reaches as the PostgreSQL superuser on purpose (the test
runner creates, empties and drops databases). The database-role check ``istv.W001``
(``accounts/audit/database_roles.py``) would therefore always warn there, about a
database that is not a deployment's, so it alone is silenced; every other setting is
production's. Never serve the portal with these settings: in a deployment, run
``check --deploy`` with ``istv_portal.settings.production``, where the warning counts.
"""

from .production import *  # noqa: F403

SILENCED_SYSTEM_CHECKS = ["istv.W001"]
