"""Read-only Django admin views of identity data.

Changes to people, organisations and access go through the portal's own screens, which
call ``accounts.services`` (audited, and ending sessions when access shrinks). The admin
must not become a second, unaudited way to change access, so nothing here is editable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import AccessGrant, ApiToken, Invitation, Membership, Organisation, User

if TYPE_CHECKING:
    # django-stubs makes ModelAdmin generic in its model, but Django's class takes no
    # parameter at run time; these admins share one base, so it is typed for any model.
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = admin.ModelAdmin


class ReadOnlyAdmin(_ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ["email", "full_name", "status", "last_login", "last_seen"]
    list_filter = ["status", "is_staff"]
    search_fields = ["email", "full_name"]
    exclude = ["password"]


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "gss_code", "ods_code", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "gss_code", "ods_code"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "organisation", "role", "is_active"]
    list_filter = ["role", "is_active"]
    list_select_related = ["user", "organisation"]
    search_fields = ["user__email", "organisation__name"]


@admin.register(AccessGrant)
class AccessGrantAdmin(ReadOnlyAdmin):
    list_display = [
        "organisation",
        "level",
        "pan_london",
        "valid_from",
        "valid_until",
        "revoked_at",
    ]
    list_filter = ["level", "pan_london"]
    list_select_related = ["organisation"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["user", "name", "prefix", "expires_at", "revoked_at", "last_used_at"]
    list_select_related = ["user"]
    exclude = ["digest"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["user", "created_at", "expires_at", "accepted_at", "superseded_at"]
    list_select_related = ["user"]
    exclude = ["digest"]
