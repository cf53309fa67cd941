"""Submissions API (/api/v1/submissions/): list and read your submissions, upload a file.

Deny by default: a live personal token or an MFA-verified session (``IsVerifiedUser``),
and a liaison or data-manager role. Reads start from the scoping chokepoint
(``submissions_visible_to``), so another hospital's submission is an audited 404; an
upload for a site the caller has no upload right on is a 404 too. Uploads share the
per-user ``upload`` rate with the upload page and are refused with 413 before the body
is read when they are over ``UPLOAD_MAX_BYTES``. Every answer is ``no-store``.
"""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, UserRateThrottle
from rest_framework.views import APIView

from accounts.audit.api import AuditedAPIMixin
from accounts.audit.denials import get_in_scope_or_404
from accounts.models import User
from accounts.permissions import IsVerifiedUser
from hospitals.models import HospitalSite
from incidents.api.schema import ERRORS
from incidents.api.serializers import ErrorSerializer
from ingest import selectors as page_selectors
from ingest.api.serializers import (
    SubmissionAcceptedSerializer,
    SubmissionDetailSerializer,
    SubmissionOutSerializer,
    SubmissionPageSerializer,
    SubmissionUploadSerializer,
)
from ingest.services import UploadRefused, submission_receive
from ingest.uploads import (
    SizeLimitUploadHandler,
    UploadRateThrottle,
    install_size_limit,
    request_too_large,
    upload_limit_text,
)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The file is larger than the upload limit."
    default_code = "F003_TOO_LARGE"


class UploadRefusedError(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "upload_refused"


class HandlesSubmissions(BasePermission):
    """Hospital liaisons and data managers; nobody else uses this API."""

    message = "Your account does not handle hospital submissions."

    def has_permission(self, request: Request, view: Any) -> bool:
        return page_selectors.submission_viewer(cast(User, request.user)).uses_submissions


class SubmissionPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class SubmissionAPIView(AuditedAPIMixin, APIView):
    permission_classes = [IsVerifiedUser, HandlesSubmissions]
    throttle_classes = [UserRateThrottle]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


class SubmissionListView(SubmissionAPIView):
    parser_classes = [MultiPartParser, FormParser]
    size_limit: SizeLimitUploadHandler | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method == "POST":
            # Before anything (authentication's CSRF check included) reads the body.
            if request_too_large(request._request):
                raise PayloadTooLarge(f"The file is larger than the {upload_limit_text()} limit.")
            self.size_limit = install_size_limit(request._request)
        super().initial(request, *args, **kwargs)

    def get_throttles(self) -> list[BaseThrottle]:
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(UploadRateThrottle())
        return throttles

    @extend_schema(
        summary="Submissions you can see (your sites; all for data managers), newest first",
        operation_id="submissions_list",
        tags=["submissions"],
        responses={200: SubmissionPageSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        queryset = page_selectors.submissions_for(cast(User, request.user)).order_by(
            "-created_at", "-pk"
        )
        paginator = SubmissionPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(SubmissionOutSerializer(page, many=True).data)

    @extend_schema(
        summary="Upload one month's file for one of your sites",
        operation_id="submissions_create",
        tags=["submissions"],
        request={"multipart/form-data": SubmissionUploadSerializer},
        responses={
            **ERRORS,
            202: SubmissionAcceptedSerializer,
            200: OpenApiResponse(
                SubmissionAcceptedSerializer, description="The same file was already received."
            ),
            400: OpenApiResponse(
                description="Invalid input, or the file was refused: ``code`` is the stable "
                "refusal code (F001_EXTENSION_NOT_ALLOWED for a file type not accepted) and "
                "``detail`` says why in plain English."
            ),
            404: OpenApiResponse(
                ErrorSerializer, description="No such site, or no upload right for it."
            ),
            413: OpenApiResponse(ErrorSerializer, description="The file is over the size limit."),
            429: OpenApiResponse(
                ErrorSerializer, description="Too many uploads: try again shortly."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = SubmissionUploadSerializer(data=request.data)
        if self.size_limit is not None and self.size_limit.exceeded:
            raise PayloadTooLarge(f"The file is larger than the {upload_limit_text()} limit.")
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        site = HospitalSite.objects.filter(site_code=data["site"]).first()
        if site is None:
            raise NotFound("No such hospital site.")
        try:
            submission = submission_receive(
                actor=cast(User, request.user),
                site=site,  # without the upload right the service answers an audited 404
                period=data["period"],
                upload=data["file"],
                set_aside_invalid=data["set_aside_invalid"],
                dry_run=data["dry_run"],
                accept_suggested_mapping=data["accept_suggested_mapping"],
                request=request._request,
            )
        except UploadRefused as refused:
            raise UploadRefusedError({"code": refused.code, "detail": refused.message}) from None
        duplicate = bool(getattr(submission, "duplicate", False))
        body = SubmissionAcceptedSerializer(
            {
                "id": submission.pk,
                "status": submission.status,
                "version": submission.version,
                "duplicate": duplicate,
                "links": SubmissionOutSerializer().get_links(submission),
            }
        ).data
        response = Response(
            body, status=status.HTTP_200_OK if duplicate else status.HTTP_202_ACCEPTED
        )
        response["Location"] = body["links"]["self"]
        return response


class SubmissionDetailView(SubmissionAPIView):
    @extend_schema(
        summary="One submission: status, progress, counts, report and scorecard",
        operation_id="submissions_retrieve",
        tags=["submissions"],
        responses={200: SubmissionDetailSerializer, **ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        submission = get_in_scope_or_404(
            page_selectors.submissions_for(cast(User, request.user)), pk=pk
        )
        return Response(SubmissionDetailSerializer(submission).data)
