"""The upload-rights screen of access administration, mounted at /manage/upload-rights/."""

from django.urls import path

from hospitals import upload_right_views as views

app_name = "upload_rights"
urlpatterns = [
    path("", views.upload_rights, name="list"),
    path("<int:site_pk>/<int:user_pk>/revoke/", views.upload_right_revoke_view, name="revoke"),
]
