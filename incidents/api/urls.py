"""/api/v1/ (mounted in istv_portal/urls.py). Names are in the ``api`` namespace."""

from django.urls import path, re_path

from incidents.api import hotspots, police_gap, top_locations, views

app_name = "api"

urlpatterns = [
    path("incidents/", views.IncidentListView.as_view(), name="incident-list"),
    path("incidents/<int:pk>/", views.IncidentDetailView.as_view(), name="incident-detail"),
    path("aggregates/", views.AggregateView.as_view(), name="aggregates"),
    path("top-locations/", top_locations.TopLocationsView.as_view(), name="top-locations"),
    path("police-gap/", police_gap.PoliceGapView.as_view(), name="police-gap"),
    path("hotspots/", hotspots.HotspotsView.as_view(), name="hotspots"),
    path("hospitals/", views.HospitalListView.as_view(), name="hospital-list"),
    path("releases/", views.ReleaseListView.as_view(), name="release-list"),
    path("releases/<int:number>/", views.ReleaseDetailView.as_view(), name="release-detail"),
    path("saved-queries/", views.SavedQueryListView.as_view(), name="saved-query-list"),
    path(
        "saved-queries/<int:pk>/",
        views.SavedQueryDetailView.as_view(),
        name="saved-query-detail",
    ),
    re_path(
        r"^exports/incidents\.(?P<fmt>csv|xlsx|geojson)$",
        views.IncidentExportView.as_view(),
        name="export-incidents",
    ),
    re_path(
        r"^exports/aggregates\.(?P<fmt>csv|xlsx)$",
        views.AggregateExportView.as_view(),
        name="export-aggregates",
    ),
]
