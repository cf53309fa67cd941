"""Submissions API, mounted at /api/v1/submissions/."""

from django.urls import path

from ingest.api import views

app_name = "submissions_api"
urlpatterns = [
    path("", views.SubmissionListView.as_view(), name="submission_list"),
    path("<int:pk>/", views.SubmissionDetailView.as_view(), name="submission_detail"),
]
