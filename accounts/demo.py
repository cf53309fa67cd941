"""Known credentials of the demo accounts created by ``manage.py seed_demo``.

For local use only: ``seed_demo`` refuses to run with production settings, so these
never reach a deployment. Tests import them so that personas can sign in the same way.
"""

from __future__ import annotations

from typing import NamedTuple

# Long enough for the password policy (12+), not on the common-password list.
DEMO_PASSWORD = "istv-demo-portal-2026"  # noqa: S105 - documented local demo credential
# Base32 TOTP seed shared by every demo account, so one authenticator entry serves all.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - local demo only


class DemoSite(NamedTuple):
    site_code: str
    name: str
    trust_code: str
    trust_name: str
    borough_code: str
    is_major_trauma_centre: bool = False


# London's 28 Type 1 EDs. Used when the ODS sites file is
# absent; when present, the file supplies coordinates and the borough.
TYPE1_SITES: tuple[DemoSite, ...] = (
    DemoSite(
        "RJ122",
        "St Thomas' Hospital",
        "RJ1",
        "Guy's and St Thomas' NHS Foundation Trust",
        "E09000022",
    ),
    DemoSite(
        "RJZ01",
        "King's College Hospital (Denmark Hill)",
        "RJZ",
        "King's College Hospital NHS Foundation Trust",
        "E09000022",
        True,
    ),
    DemoSite(
        "RJZ30",
        "Princess Royal University Hospital",
        "RJZ",
        "King's College Hospital NHS Foundation Trust",
        "E09000006",
    ),
    DemoSite(
        "RJ224",
        "University Hospital Lewisham",
        "RJ2",
        "Lewisham and Greenwich NHS Trust",
        "E09000023",
    ),
    DemoSite(
        "RJ231",
        "Queen Elizabeth Hospital (Woolwich)",
        "RJ2",
        "Lewisham and Greenwich NHS Trust",
        "E09000011",
    ),
    DemoSite(
        "R1H12", "The Royal London Hospital", "R1H", "Barts Health NHS Trust", "E09000030", True
    ),
    DemoSite(
        "R1HKH", "Whipps Cross University Hospital", "R1H", "Barts Health NHS Trust", "E09000031"
    ),
    DemoSite("R1HNH", "Newham General Hospital", "R1H", "Barts Health NHS Trust", "E09000025"),
    DemoSite(
        "RQXM1",
        "Homerton University Hospital",
        "RQX",
        "Homerton Healthcare NHS Foundation Trust",
        "E09000012",
    ),
    DemoSite(
        "RF4DG",
        "King George Hospital",
        "RF4",
        "Barking, Havering and Redbridge University Hospitals NHS Trust",
        "E09000026",
    ),
    DemoSite(
        "RF4QH",
        "Queen's Hospital (Romford)",
        "RF4",
        "Barking, Havering and Redbridge University Hospitals NHS Trust",
        "E09000016",
    ),
    DemoSite(
        "RAL01", "Royal Free Hospital", "RAL", "Royal Free London NHS Foundation Trust", "E09000007"
    ),
    DemoSite(
        "RAL26", "Barnet Hospital", "RAL", "Royal Free London NHS Foundation Trust", "E09000003"
    ),
    DemoSite(
        "RAL27",
        "North Middlesex Hospital",
        "RAL",
        "Royal Free London NHS Foundation Trust",
        "E09000010",
    ),
    DemoSite(
        "RKEQ4", "The Whittington Hospital", "RKE", "Whittington Health NHS Trust", "E09000019"
    ),
    DemoSite(
        "RRV03",
        "University College Hospital",
        "RRV",
        "University College London Hospitals NHS Foundation Trust",
        "E09000007",
    ),
    DemoSite(
        "R1K01",
        "Northwick Park Hospital",
        "R1K",
        "London North West University Healthcare NHS Trust",
        "E09000005",
    ),
    DemoSite(
        "R1K04",
        "Ealing Hospital",
        "R1K",
        "London North West University Healthcare NHS Trust",
        "E09000009",
    ),
    DemoSite(
        "RAS01",
        "Hillingdon Hospital",
        "RAS",
        "The Hillingdon Hospitals NHS Foundation Trust",
        "E09000017",
    ),
    DemoSite(
        "RQM01",
        "Chelsea and Westminster Hospital",
        "RQM",
        "Chelsea and Westminster Hospital NHS Foundation Trust",
        "E09000020",
    ),
    DemoSite(
        "RQM91",
        "West Middlesex University Hospital",
        "RQM",
        "Chelsea and Westminster Hospital NHS Foundation Trust",
        "E09000018",
    ),
    DemoSite(
        "RYJ01",
        "St Mary's Hospital",
        "RYJ",
        "Imperial College Healthcare NHS Trust",
        "E09000033",
        True,
    ),
    DemoSite(
        "RYJ02",
        "Charing Cross Hospital",
        "RYJ",
        "Imperial College Healthcare NHS Trust",
        "E09000013",
    ),
    DemoSite(
        "RAX01",
        "Kingston Hospital",
        "RAX",
        "Kingston and Richmond NHS Foundation Trust",
        "E09000021",
    ),
    DemoSite(
        "RJ611",
        "Croydon University Hospital",
        "RJ6",
        "Croydon Health Services NHS Trust",
        "E09000008",
    ),
    DemoSite(
        "RJ701",
        "St George's Hospital (Tooting)",
        "RJ7",
        "St George's University Hospitals NHS Foundation Trust",
        "E09000032",
        True,
    ),
    DemoSite(
        "RVR05",
        "St Helier Hospital",
        "RVR",
        "Epsom and St Helier University Hospitals NHS Trust",
        "E09000029",
    ),
    # In Surrey: a London trust's site outside the 33 boroughs.
    DemoSite(
        "RVR50", "Epsom Hospital", "RVR", "Epsom and St Helier University Hospitals NHS Trust", ""
    ),
)
