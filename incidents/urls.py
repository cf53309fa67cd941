"""The analyst workspace pages, mounted at /data/ (names in the ``incidents`` namespace)."""

from django.urls import path

from incidents.views import (
    alerts,
    dashboard,
    downloads,
    explore,
    hotspots,
    maps,
    monitoring_reports,
    police_gap,
    saved_queries,
    top_locations,
    transparency,
)

app_name = "incidents"

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("explore/", explore.explore, name="explore"),
    path("explore/charts/", explore.charts, name="charts"),
    path("explore/map/", maps.map_view, name="map"),
    path("explore/map/data.json", maps.map_data, name="map_data"),
    path("explore/map/boundaries.geojson", maps.map_boundaries, name="map_boundaries"),
    path("explore/map/base.geojson", maps.map_base, name="map_base"),
    path("explore/police-gap/", police_gap.police_gap_page, name="police_gap"),
    path("explore/hotspots/", hotspots.hotspots_page, name="hotspots"),
    path("explore/download/", downloads.download, name="download"),
    path("explore/places/", top_locations.top_locations, name="top_locations"),
    path("explore/places/licensing/", top_locations.licensing, name="licensing"),
    path("explore/places/licensing.csv", top_locations.licensing_csv, name="licensing_csv"),
    path("incidents/<int:pk>/", explore.incident_detail, name="incident_detail"),
    path("saved/", saved_queries.saved_query_list, name="saved_query_list"),
    path("saved/<int:pk>/", saved_queries.saved_query_open, name="saved_query_open"),
    path("saved/<int:pk>/alert/", alerts.alert_subscribe_view, name="alert_subscribe"),
    path("alerts/", alerts.alert_list, name="alert_list"),
    path("alerts/<int:pk>/stop/", alerts.alert_stop_view, name="alert_stop"),
    path("alerts/stop/", alerts.alert_stop_link, name="alert_stop_link"),
    path("transparency/", transparency.transparency, name="transparency"),
    path("monitoring/", monitoring_reports.monitoring_list, name="monitoring_list"),
    path(
        "monitoring/<int:release>/<str:name>",
        monitoring_reports.monitoring_file,
        name="monitoring_file",
    ),
]
