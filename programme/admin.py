"""Read-only admin views: every change goes through the audited pages and services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import DataSharingAgreement
from incidents.models import ReleaseNote
from programme.models import CaseStudy

if TYPE_CHECKING:
    # django-stubs makes ModelAdmin generic in its model, but Django's class takes no
    # parameter at run time; these admins share one base, so it is typed for any model.
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = admin.ModelAdmin


class ReadOnlyAdmin(_ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DataSharingAgreement)
class DataSharingAgreementAdmin(ReadOnlyAdmin):
    list_display = ("reference", "title", "status", "ends_on")
    list_filter = ("status",)


@admin.register(ReleaseNote)
class ReleaseNoteAdmin(ReadOnlyAdmin):
    list_display = ("release", "status", "published_at")


@admin.register(CaseStudy)
class CaseStudyAdmin(ReadOnlyAdmin):
    list_display = ("title", "status", "published_at")
    list_filter = ("status",)
