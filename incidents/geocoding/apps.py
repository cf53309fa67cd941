from django.apps import AppConfig


class GeocodingConfig(AppConfig):
    name = "incidents.geocoding"
    label = "geocoding"
    verbose_name = "Geocoding"
