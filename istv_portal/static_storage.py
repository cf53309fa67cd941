"""Static files storage: WhiteNoise's compressed, hashed files, and pages that still render
when ``collectstatic`` has not been run.

``collectstatic`` (run when the image is built) writes the hashed copies and a manifest,
``staticfiles.json``, that maps ``css/portal.css`` to ``css/portal.3f2a….css``. Django's
manifest storage raises ``ValueError`` for every ``{% static %}`` when the manifest is
missing, so a deployment that skipped the step failed on every page, and then again on
the 500 page that should have said so: the visitor got the web server's bare error.

This storage falls back to the plain (unhashed) name when **no manifest was loaded at
all**, and logs one error per process naming the cause, so pages (unstyled, because
nothing is collected to serve) and error pages still render. With a manifest, a name
missing from it is still an error, as Django's strict manifest makes it: a reference to a
file that does not exist is a bug to fix, not to hide.
"""

from __future__ import annotations

import logging

from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)


class PortalStaticFilesStorage(CompressedManifestStaticFilesStorage):
    _missing_manifest_logged = False

    def stored_name(self, name: str) -> str:
        if self.hashed_files:
            return str(super().stored_name(name))
        if not PortalStaticFilesStorage._missing_manifest_logged:
            PortalStaticFilesStorage._missing_manifest_logged = True
            logger.error(
                "No static files manifest (%s) in STATIC_ROOT: run `manage.py collectstatic`. "
                "Pages are served with unhashed static URLs until then.",
                self.manifest_name,
            )
        return name
