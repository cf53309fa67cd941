"""Access administration, invitations and personal API tokens, mounted at /manage/."""

from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.index, name="index"),
    path("invitation/accept/", views.invitation_accept, name="invitation_accept"),
    path("invitation/<str:token>/", views.invitation_open, name="invitation_open"),
    path("tokens/", views.tokens, name="token_list"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("users/", views.user_list, name="user_list"),
    path("users/invite/", views.user_invite, name="user_invite"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("users/<int:pk>/reactivate/", views.user_reactivate, name="user_reactivate"),
    path("organisations/", views.organisation_list, name="organisation_list"),
    path("organisations/new/", views.organisation_create, name="organisation_create"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path("organisations/<int:pk>/edit/", views.organisation_edit, name="organisation_edit"),
    path("organisations/<int:pk>/people/", views.organisation_people, name="organisation_people"),
    path("my-organisation/", views.my_organisation, name="my_organisation"),
    path(
        "organisations/<int:organisation_pk>/grants/new/",
        views.grant_create,
        name="grant_create",
    ),
    path("memberships/new/", views.membership_add, name="membership_add"),
    path("memberships/<int:pk>/edit/", views.membership_edit, name="membership_edit"),
    path("memberships/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("grants/", views.grant_list, name="grant_list"),
    path("grants/<int:pk>/edit/", views.grant_edit, name="grant_edit"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("access-review/", views.access_review, name="access_review"),
    path("access-review.csv", views.access_review_csv, name="access_review_csv"),
    path(
        "access-review/query-patterns/<int:pk>/reviewed/",
        views.pattern_flag_review,
        name="pattern_flag_review",
    ),
]
