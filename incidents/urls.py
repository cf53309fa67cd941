"""The analyst workspace pages, mounted at /data/ (names in the ``incidents`` namespace)."""

from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("explore/", views.explore, name="explore"),
    path("explore/charts/", views.charts, name="charts"),
    path("explore/map/", views.map_view, name="map"),
    path("explore/map/data.json", views.map_data, name="map_data"),
    path("explore/map/boundaries.geojson", views.map_boundaries, name="map_boundaries"),
    path("explore/download/", views.download, name="download"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident_detail"),
    path("saved/", views.saved_query_list, name="saved_query_list"),
    path("saved/<int:pk>/", views.saved_query_open, name="saved_query_open"),
    path("transparency/", views.transparency, name="transparency"),
    path("monitoring/", views.monitoring_list, name="monitoring_list"),
    path(
        "monitoring/<int:release>/<str:name>",
        views.monitoring_file,
        name="monitoring_file",
    ),
]
