from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "accounts.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from django.core import checks
        from django.db.models.signals import post_migrate

        from accounts.audit import database_roles

        # `manage.py check --deploy` only: it queries the database (istv.W001).
        checks.register(database_roles.check_database_role, checks.Tags.security, deploy=True)
        post_migrate.connect(
            database_roles.revoke_after_migrate,
            sender=self,
            dispatch_uid="audit.revoke_audit_changes",
        )
