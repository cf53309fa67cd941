"""Submission pages, mounted at /submissions/."""

from django.urls import path

from ingest import police_crime_views, reference_views, views

app_name = "ingest"
urlpatterns = [
    path("", views.submission_list, name="submission_list"),
    path("upload/", views.submission_upload, name="submission_upload"),
    path("upload/template.<str:extension>", views.submission_template, name="submission_template"),
    path("review/", views.review_queue, name="review_queue"),
    path("tracker/", views.tracker, name="tracker"),
    path("<int:pk>/", views.submission_detail, name="submission_detail"),
    path("<int:pk>/progress.json", views.submission_progress, name="submission_progress"),
    path("<int:pk>/report/", views.submission_report, name="submission_report"),
    path("<int:pk>/report.csv", views.submission_report_csv, name="submission_report_csv"),
    path("<int:pk>/scorecard/", views.submission_scorecard, name="submission_scorecard"),
    path("<int:pk>/mapping/", views.submission_mapping, name="submission_mapping"),
    path("<int:pk>/original/", views.submission_original, name="submission_original"),
    path(
        "<int:pk>/publish/check/",
        views.submission_publish_check,
        name="submission_publish_check",
    ),
    path("<int:pk>/publish/", views.submission_publish_view, name="submission_publish"),
    path("reference/", reference_views.reference_codes, name="reference_codes"),
    path("police-crime/", police_crime_views.police_crime_upload, name="police_crime_upload"),
    path(
        "reference/codes/<int:pk>/",
        reference_views.reference_code_edit,
        name="reference_code_edit",
    ),
    path(
        "reference/synonyms/<int:pk>/delete/",
        reference_views.reference_synonym_delete,
        name="reference_synonym_delete",
    ),
]
