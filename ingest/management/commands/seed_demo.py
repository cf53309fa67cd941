"""Load demo organisations, hospital sites, the data-sharing agreements the demo grants
name (registered and in force), the grants, one demo user per role, and 25 months of demo
submissions (``ingest.demo``), geocoded as they are loaded.

Idempotent: running it again changes nothing. Refuses to run with production settings.
The submissions need the gazetteer loaded first (``manage.py load_gazetteer``, which
``make run`` runs before this): the command stops if none is loaded, and finishes only
when no demo incident is left awaiting geocoding. The demo accounts share one password
and one TOTP secret (``accounts.demo``), printed at the end for local use.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any, NamedTuple

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import get_perms

from accounts import services
from accounts.agreements import agreements_for
from accounts.audit.models import Action, AuditEvent, audit_object_type
from accounts.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, TYPE1_SITES, DemoSite
from accounts.geography import LONDON_BOROUGHS
from accounts.models import AccessGrant, DataSharingAgreement, Membership, Organisation, User
from hospitals.models import HospitalSite
from hospitals.selectors import UPLOAD_PERMISSION
from hospitals.upload_right_services import upload_right_grant
from incidents.alert_digests import alert_subscribe
from incidents.geocoding.loaders import loaded_version
from incidents.models import SavedQuery
from incidents.services import saved_query_create

BOROUGHS_FILE = "london_boroughs_lad22.geojson"
SITES_FILE = "london_uec_sites_ods.csv"
SOUTHWARK, LAMBETH = "E09000028", "E09000022"
GLA, MPS, VRU, MOPAC = (
    "Greater London Authority",
    "Metropolitan Police Service",
    "London Violence Reduction Unit",
    "Mayor's Office for Policing and Crime",
)


def csp_name(gss_code: str, borough: str) -> str:
    if gss_code == "E09000001":
        return "Safer City Partnership"
    return f"{borough} Community Safety Partnership"


class DemoGrant(NamedTuple):
    organisation: str
    reference: str
    level: str
    boroughs: tuple[str, ...]  # empty: pan-London
    download_allowed: bool
    free_text_visible: bool
    precision: str
    # Borough grants: also incidents with no mappable place treated at EDs sited in the
    # grant's boroughs. On for Lambeth (where St Thomas' and King's College are sited),
    # off for Southwark, so the demo shows both.
    include_unlocated: bool = False


R, A = AccessGrant.Level.RECORD, AccessGrant.Level.AGGREGATE
P = AccessGrant.Precision
DEMO_GRANTS = (
    DemoGrant(GLA, "DSA-DEMO-GLA", R, (), True, True, P.EXACT),
    DemoGrant(MPS, "DSA-DEMO-MPS", R, (), True, True, P.EXACT),
    DemoGrant(
        csp_name(SOUTHWARK, "Southwark"), "DSA-DEMO-SWK", R, (SOUTHWARK,), True, True, P.SNAPPED
    ),
    DemoGrant(
        csp_name(LAMBETH, "Lambeth"),
        "DSA-DEMO-LAM",
        R,
        (LAMBETH,),
        True,
        False,
        P.SNAPPED,
        include_unlocated=True,
    ),
    DemoGrant(VRU, "DSA-DEMO-VRU", A, (), True, False, P.LSOA),
    DemoGrant(MOPAC, "DSA-DEMO-MOPAC", R, (), False, False, P.LSOA),
)


class DemoUser(NamedTuple):
    email: str
    full_name: str
    organisation: str  # an organisation name, or "trust:<ODS trust code>"
    role: str
    upload_sites: tuple[str, ...] = ()


Role = Membership.Role
DEMO_USERS = (
    DemoUser("access.admin@demo.istv", "Demo Access Administrator", GLA, Role.ACCESS_ADMIN),
    DemoUser("data.manager@demo.istv", "Demo Data Manager", GLA, Role.DATA_MANAGER),
    DemoUser(
        "stthomas.liaison@demo.istv",
        "Demo St Thomas' Liaison",
        "trust:RJ1",
        Role.LIAISON,
        ("RJ122",),
    ),
    DemoUser(
        "royallondon.liaison@demo.istv",
        "Demo Royal London Liaison",
        "trust:R1H",
        Role.LIAISON,
        ("R1H12",),
    ),
    DemoUser("mps.analyst@demo.istv", "Demo MPS Analyst", MPS, Role.ANALYST),
    DemoUser(
        "southwark.analyst@demo.istv",
        "Demo Southwark Analyst",
        csp_name(SOUTHWARK, "Southwark"),
        Role.ANALYST,
    ),
    DemoUser(
        "lambeth.analyst@demo.istv",
        "Demo Lambeth Analyst",
        csp_name(LAMBETH, "Lambeth"),
        Role.ANALYST,
    ),
    DemoUser("vru.aggregate@demo.istv", "Demo VRU Analyst", VRU, Role.ANALYST),
    DemoUser("mopac.analyst@demo.istv", "Demo MOPAC Analyst", MOPAC, Role.ANALYST),
)


def read_boroughs(geo_dir: Path) -> dict[str, str]:
    """GSS code → name from the boundary file when present, else the built-in list."""
    path = geo_dir / BOROUGHS_FILE
    if not path.is_file():
        return dict(LONDON_BOROUGHS)
    with path.open(encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    boroughs = {f["properties"]["LAD22CD"]: f["properties"]["LAD22NM"] for f in features}
    if set(boroughs) != set(LONDON_BOROUGHS):
        raise CommandError(f"{BOROUGHS_FILE} does not hold exactly London's 33 boroughs.")
    return boroughs


def read_site_locations(geo_dir: Path) -> dict[str, dict[str, Any]]:
    """Site code → borough and WGS84 point from the ODS sites file, when present."""
    path = geo_dir / SITES_FILE
    if not path.is_file():
        return {}
    wanted = {site.site_code for site in TYPE1_SITES}
    found: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["site_code"] in wanted:
                found[row["site_code"]] = {
                    "lat": float(row["lat"]),
                    "lon": float(row["lon"]),
                    "borough_code": row.get("lad_code_pip", "") or "",
                }
    return found


def _changed_by_anyone(grant: AccessGrant) -> bool:
    """Whether the audit log holds any change to ``grant`` since it was created."""
    return AuditEvent.objects.filter(
        action=Action.GRANT_CHANGED,
        object_type=audit_object_type(AccessGrant),
        object_id=str(grant.pk),
    ).exists()


class Command(BaseCommand):
    help = "Load demo organisations, sites, grants and users (idempotent; never in production)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--geo-dir", type=Path, default=None, help="Folder of the geo files.")
        parser.add_argument(
            "--no-submissions",
            action="store_true",
            help="Skip demo submissions (loaded by seed_submissions when that exists).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        module = str(settings.SETTINGS_MODULE)
        if "production" in module:
            raise CommandError("seed_demo refuses to run with production settings.")
        # The GAZETTEER_DIR setting: the shipped data/gazetteer unless overridden.
        geo_dir = options["geo_dir"] or Path(settings.GAZETTEER_DIR)
        if not options["no_submissions"] and loaded_version() is None:
            raise CommandError(
                "No gazetteer is loaded, so demo incidents could not be geocoded. "
                "Run `manage.py load_gazetteer` first (or pass --no-submissions)."
            )
        with transaction.atomic():
            organisations = self.seed_organisations(read_boroughs(geo_dir))
            sites = self.seed_sites(read_site_locations(geo_dir), organisations)
            self.seed_agreements(organisations)
            self.seed_grants(organisations)
            self.seed_users(organisations, sites)
        if not options["no_submissions"]:
            self.seed_submissions(geo_dir)
            self.seed_police_crime()
            self.seed_saved_query_alert()
        self.print_sign_in()

    # -- steps ------------------------------------------------------------------------

    def _organisation(self, *, name: str, kind: str, **codes: Any) -> Organisation:
        lookup = {"kind": kind, **codes} if codes else {"kind": kind, "name": name}
        existing = Organisation.objects.filter(**lookup).first()
        if existing is not None:
            return existing
        return services.organisation_create(actor=None, name=name, kind=kind, **codes)

    def seed_organisations(self, boroughs: dict[str, str]) -> dict[str, Organisation]:
        kinds = Organisation.Kind
        organisations = {
            name: self._organisation(name=name, kind=kind)
            for name, kind in (
                (GLA, kinds.GLA),
                (MPS, kinds.MPS),
                (VRU, kinds.VRU),
                (MOPAC, kinds.MOPAC),
            )
        }
        for code, borough in sorted(boroughs.items()):
            name = csp_name(code, borough)
            organisations[name] = self._organisation(name=name, kind=kinds.CSP, gss_code=code)
        for site in TYPE1_SITES:
            key = f"trust:{site.trust_code}"
            if key not in organisations:
                organisations[key] = self._organisation(
                    name=site.trust_name, kind=kinds.HOSPITAL, ods_code=site.trust_code
                )
        return organisations

    def seed_sites(
        self, locations: dict[str, dict[str, Any]], organisations: dict[str, Organisation]
    ) -> dict[str, HospitalSite]:
        sites: dict[str, HospitalSite] = {}
        for site in TYPE1_SITES:
            sites[site.site_code] = self._site(
                site, locations.get(site.site_code, {}), organisations
            )
        return sites

    def _site(
        self, site: DemoSite, location: dict[str, Any], organisations: dict[str, Organisation]
    ) -> HospitalSite:
        # Hospital sites are reference data of the hospitals app; the demo loads them as-is.
        record, _ = HospitalSite.objects.update_or_create(
            site_code=site.site_code,
            defaults={
                "name": site.name,
                "trust_code": site.trust_code,
                "trust_name": site.trust_name,
                "organisation": organisations[f"trust:{site.trust_code}"],
                "borough_code": location.get("borough_code", site.borough_code),
                "lat": location.get("lat"),
                "lon": location.get("lon"),
                "is_major_trauma_centre": site.is_major_trauma_centre,
            },
        )
        return record

    def seed_agreements(self, organisations: dict[str, Organisation]) -> None:
        """Register the agreement each demo grant names: in force, the grant's organisation
        its recipient, the demo's hospital trusts its providers. An agreement already in
        the register is left as it is (an administrator may have ended it)."""
        today = timezone.localdate()
        trusts = [org for key, org in organisations.items() if key.startswith("trust:")]
        for grant in DEMO_GRANTS:
            if DataSharingAgreement.objects.filter(reference=grant.reference).exists():
                continue
            agreement = DataSharingAgreement(
                reference=grant.reference,
                title=f"Demo agreement: {grant.organisation}",
                legal_basis="UK GDPR Article 6(1)(e) and 9(2)(g) (demo)",
                purpose="Violence reduction: sharing anonymised ED assault data (demo).",
                # Demo grants start a year before the day they were seeded: this covers
                # those of a demo seeded up to two years ago, before agreements were.
                signed_on=today - dt.timedelta(days=3 * 365),
                ends_on=today + dt.timedelta(days=730),
                status=DataSharingAgreement.Status.ACTIVE,
            )
            services.agreement_register(
                actor=None,
                agreement=agreement,
                providers=trusts,
                recipients=[organisations[grant.organisation]],
            )

    def seed_grants(self, organisations: dict[str, Organisation]) -> None:
        today = timezone.localdate()
        for grant in DEMO_GRANTS:
            organisation = organisations[grant.organisation]
            existing = AccessGrant.objects.filter(
                organisation=organisation, agreement_reference=grant.reference
            ).first()
            if existing is None:
                if not agreements_for(organisation.pk).filter(reference=grant.reference).exists():
                    continue  # its agreement was ended or suspended: no new grant under it
                services.grant_create(
                    actor=None,
                    organisation=organisation,
                    level=grant.level,
                    pan_london=not grant.boroughs,
                    boroughs=list(grant.boroughs),
                    download_allowed=grant.download_allowed,
                    free_text_visible=grant.free_text_visible,
                    include_unlocated=grant.include_unlocated,
                    location_precision=grant.precision,
                    valid_from=today - dt.timedelta(days=365),
                    valid_until=today + dt.timedelta(days=365),
                    agreement_reference=grant.reference,
                    reason="Demo data-sharing agreement",
                )
            elif (
                existing.include_unlocated != grant.include_unlocated
                and existing.revoked_at is None
                and not _changed_by_anyone(existing)
            ):
                # A demo grant an older seed_demo created before the option existed, and
                # nobody has changed since: give it the demo's setting (audited).
                services.grant_update(
                    actor=None,  # type: ignore[arg-type]  # the system, as at creation
                    grant=existing,
                    include_unlocated=grant.include_unlocated,
                )

    def seed_users(
        self, organisations: dict[str, Organisation], sites: dict[str, HospitalSite]
    ) -> None:
        for demo in DEMO_USERS:
            user = User.objects.filter(email=demo.email).first()
            if user is None:
                user = User.objects.create_user(
                    demo.email,
                    DEMO_PASSWORD,
                    full_name=demo.full_name,
                    status=User.Status.ACTIVE,
                )
            EmailAddress.objects.update_or_create(
                user=user, email=demo.email, defaults={"verified": True, "primary": True}
            )
            if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                TOTP.activate(user, DEMO_TOTP_SECRET)
            organisation = organisations[demo.organisation]
            if not Membership.objects.filter(
                user=user, organisation=organisation, role=demo.role
            ).exists():
                services.membership_add(
                    actor=None, user=user, organisation=organisation, role=demo.role
                )
            for code in demo.upload_sites:
                if UPLOAD_PERMISSION.split(".")[1] not in get_perms(user, sites[code]):
                    upload_right_grant(actor=None, user=user, site=sites[code])

    def seed_submissions(self, geo_dir: Path) -> None:
        """25 months of demo submissions, ingested, geocoded and published (ingest.demo).

        Rows an earlier run stored ``pending`` (loaded before any gazetteer was) are
        geocoded here, and the command fails if any incident is still awaiting geocoding.
        Loading (and the retry) fill the geocode review queue as real uploads do; the
        output says how many descriptions wait there.
        """
        from incidents.geocoding.models import ReviewItem
        from ingest.demo import DEMO_MONTHS, seed_demo_submissions
        from ingest.geocode_retry import pending_geocodes_retry
        from ingest.loader import incidents_pending_geocode

        started = time.monotonic()
        counts = seed_demo_submissions(months=DEMO_MONTHS, geo_dir=geo_dir)
        retried = pending_geocodes_retry(max_seconds=3600)
        pending = incidents_pending_geocode().count()
        if pending:
            raise CommandError(
                f"{pending} incidents are still awaiting geocoding ({retried.status}); "
                "check that `manage.py load_gazetteer` loaded the gazetteer."
            )
        last_month = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
        files = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"
        to_review = ReviewItem.objects.filter(status=ReviewItem.Status.OPEN).count()
        self.stdout.write(
            f"Demo submissions, {DEMO_MONTHS} months to {last_month:%B %Y}: {files}; "
            f"no incident awaiting geocoding; {to_review} descriptions in the geocode "
            f"review queue ({time.monotonic() - started:.0f} s)"
        )

    def seed_police_crime(self) -> None:
        """A SYNTHETIC police-recorded crime sample for the last 12 demo months
        (``ingest.police_crime_demo``), imported as a data manager's file would be, so the
        workspace's Police gap page has something to compare. Re-running replaces it."""
        import io

        from ingest.police_crime import import_police_crime
        from ingest.police_crime_demo import synthetic_csv

        last = timezone.localdate().replace(day=1)
        months = []
        for _ in range(12):
            last = (last - dt.timedelta(days=1)).replace(day=1)
            months.append(last)
        text = synthetic_csv(sorted(months))
        report = import_police_crime([("synthetic-police-crime.csv", io.StringIO(text))])
        summary = report.summary()
        self.stdout.write(
            f"SYNTHETIC police-recorded crime sample (not real data), 12 months: "
            f"{summary['violence']} violence and {summary['robbery']} robbery rows"
        )

    def seed_saved_query_alert(self) -> None:
        """One saved query for the Southwark demo analyst, with alerts on: after the next
        release the analyst is e-mailed if the newest complete month rises beyond its
        expectation (docs/alerts.md). Re-running keeps the one query and subscription."""
        analyst = User.objects.get(email="southwark.analyst@demo.istv")
        name = "Southwark: knife or sharp object"
        saved = SavedQuery.objects.filter(owner=analyst, name=name).first()
        if saved is None:
            saved = saved_query_create(
                actor=analyst,
                name=name,
                params={"borough": ["E09000028"], "method": ["knife"]},
                release=None,
                shared_with_organisation=True,
            )
        alert_subscribe(actor=analyst, saved_query=saved)
        self.stdout.write(f"Saved query with alerts for {analyst.email}: {name}")

    def print_sign_in(self) -> None:
        base = settings.PORTAL_BASE_URL
        lines = [
            "",
            f"Demo sign-in (local use only) at {base}",
            f"  Password for every demo account: {DEMO_PASSWORD}",
            f"  TOTP secret for every demo account: {DEMO_TOTP_SECRET}",
            "  (add the secret to an authenticator app, or: oathtool --totp -b SECRET)",
        ]
        lines += [f"  {demo.email:<32} {Membership.Role(demo.role).label}" for demo in DEMO_USERS]
        self.stdout.write("\n".join(lines))
