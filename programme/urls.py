from django.urls import path

from programme import views

app_name = "programme"

urlpatterns = [
    # Data-sharing agreements (access administrators and data managers).
    path("agreements/", views.agreement_list, name="agreement_list"),
    path("agreements/new/", views.agreement_create, name="agreement_create"),
    path("agreements/<int:pk>/", views.agreement_detail, name="agreement_detail"),
    path("agreements/<int:pk>/edit/", views.agreement_edit, name="agreement_edit"),
    path("agreements/<int:pk>/suspend/", views.agreement_suspend, name="agreement_suspend"),
    path("agreements/<int:pk>/end/", views.agreement_end, name="agreement_end"),
    path("agreements/<int:pk>/document/", views.agreement_document, name="agreement_document"),
    # Release notes.
    path("releases/", views.release_list, name="release_list"),
    path("releases/<int:number>/", views.release_detail, name="release_detail"),
    path("releases/<int:number>/notes/", views.release_note_edit, name="release_note_edit"),
    # Guidance for liaisons and ED staff, and per-hospital feedback.
    path("guidance/", views.guidance, name="guidance"),
    path("guidance/<slug:page>/", views.guidance, name="guidance_page"),
    path("feedback/", views.feedback_index, name="feedback_index"),
    path("feedback/<int:site_pk>/", views.feedback_site, name="feedback_site"),
    # Case studies.
    path("case-studies/", views.case_study_list, name="case_study_list"),
    path("case-studies/new/", views.case_study_create, name="case_study_create"),
    path("case-studies/<int:pk>/", views.case_study_detail, name="case_study_detail"),
    path("case-studies/<int:pk>/edit/", views.case_study_edit, name="case_study_edit"),
    path(
        "case-studies/<int:pk>/<str:action>/",
        views.case_study_transition,
        name="case_study_transition",
    ),
    path("case-studies/<int:pk>/images/", views.case_study_image_add, name="case_study_image_add"),
    path(
        "case-studies/<int:pk>/images/<int:image_pk>/",
        views.case_study_image,
        name="case_study_image",
    ),
    # Impact and usage (MOPAC, VRU and GLA).
    path("impact/", views.impact_dashboard, name="impact"),
    path("impact/export.csv", views.impact_csv, name="impact_csv"),
]
