"""The hospital transparency page counts each use of a hospital's data once: a download
audited when it starts and when it completes counts once, and a download audited once
(a monitoring report, an original file) counts too."""

from __future__ import annotations

import pytest

from accounts.audit.models import Action
from accounts.audit.services import audit_record
from accounts.models import Organisation
from hospitals.models import HospitalSite
from incidents.workspace.transparency import hospital_data_use

pytestmark = pytest.mark.django_db


def test_each_download_counts_once_with_or_without_a_stage(
    site_a: HospitalSite, org_mps: Organisation
) -> None:
    everything = {"filter": {}}
    audit_record(action=Action.DATA_VIEWED, organisation=org_mps, details=everything)
    audit_record(
        action=Action.DATA_DOWNLOADED,
        organisation=org_mps,
        details={**everything, "stage": "started"},
    )
    audit_record(
        action=Action.DATA_DOWNLOADED,
        organisation=org_mps,
        details={**everything, "stage": "completed"},
    )
    audit_record(action=Action.DATA_DOWNLOADED, organisation=org_mps, details={"report": 1})
    rows = hospital_data_use(site_a)
    assert [(r.organisation, r.views, r.downloads) for r in rows] == [(org_mps.name, 1, 2)]
