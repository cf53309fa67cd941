"""Create the database cache table, so a deployment without Redis works after `migrate`.

Without ``REDIS_URL`` the settings fall back to Django's database cache, table
``istv_cache`` (istv_portal/settings/base.py). Django only creates that table with
``manage.py createcachetable``; a deployment that runs a plain ``migrate`` (as
docs/operations.md says) never had it, and every request failed on the first cache read.

Why the database cache and not one that needs no table: the cache must be shared by
every web and worker process, on every host. The TOTP replay guard and the login
throttle would let a replayed code or extra guesses through on another gunicorn worker
with a per-process memory cache, and the worker heartbeat written by a Celery worker
would never be seen by the web process that answers /healthz. A file cache is shared
only by processes on one host. PostgreSQL is the one service every deployment has.

The table is created by Django's own ``createcachetable`` code (same columns and index),
and only if it does not exist yet, so databases where the command already ran are left
as they are. It is created whatever cache the deployment uses today (``istv_cache``, and
any other database cache table the settings name), so switching Redis off later needs no
extra step; it is an accounts migration because accounts is the lowest layer and the
login throttle and replay guard are what need the cache. Reversing leaves the table in
place: it holds only disposable cache entries, and older code still expects it.
"""

from io import StringIO

from django.conf import settings
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

DEFAULT_TABLE = "istv_cache"
DATABASE_CACHE = "django.core.cache.backends.db.DatabaseCache"


def cache_tables():
    names = {DEFAULT_TABLE}
    for config in settings.CACHES.values():
        if config.get("BACKEND") == DATABASE_CACHE and config.get("LOCATION"):
            names.add(config["LOCATION"])
    return sorted(names)


def create_cache_tables(apps, schema_editor):
    command = CreateCacheTable(stdout=StringIO(), stderr=StringIO())
    command.verbosity = 0
    for table in cache_tables():
        command.create_table(schema_editor.connection.alias, table, dry_run=False)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_grant_include_unlocated"),
    ]

    operations = [
        migrations.RunPython(create_cache_tables, migrations.RunPython.noop, elidable=False),
    ]
