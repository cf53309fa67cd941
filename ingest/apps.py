from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "ingest"
    verbose_name = "Submission journey"

    def ready(self) -> None:
        # A reviewer's geocode decision re-geocodes the stored rows that used the phrase.
        from incidents.geocoding.signals import alias_learned
        from ingest.geocode_review import incidents_regeocode_for_alias

        alias_learned.connect(incidents_regeocode_for_alias, dispatch_uid="ingest-regeocode")
