from django.apps import AppConfig


class ProgrammeConfig(AppConfig):
    """Programme tools: agreements, release notes, guidance, case studies, impact."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "programme"
    label = "programme"
    verbose_name = "Programme"
