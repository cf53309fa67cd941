"""Model factories shared by every test folder."""

from __future__ import annotations

import datetime as dt

import factory
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone

from accounts.demo import DEMO_TOTP_SECRET
from accounts.models import AccessGrant, DataSharingAgreement, Membership, Organisation, User

TEST_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Sequence(lambda n: f"Test Person {n}")
    status = User.Status.ACTIVE
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def with_mfa(self, create: bool, extracted: bool | None, **kwargs: object) -> None:
        self.save()
        if create and extracted is not False:
            TOTP.activate(self, DEMO_TOTP_SECRET)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = Organisation.Kind.MPS


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Membership.Role.ANALYST


class AccessGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccessGrant

    organisation = factory.SubFactory(OrganisationFactory)
    level = AccessGrant.Level.RECORD
    pan_london = True
    boroughs = factory.LazyFunction(list)
    download_allowed = True
    free_text_visible = True
    location_precision = AccessGrant.Precision.EXACT
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=335))
    agreement_reference = factory.Sequence(lambda n: f"DSA-TEST-{n:03d}")
    reason = "Test grant"


def register_agreement(
    reference: str,
    *,
    recipients: list[Organisation],
    providers: list[Organisation] | None = None,
    status: str = DataSharingAgreement.Status.ACTIVE,
    **values: object,
) -> DataSharingAgreement:
    """An agreement in the register (in force by default), signed before and ending after
    the default grant dates, so a grant naming it fits unless a test says otherwise."""
    today = timezone.localdate()
    agreement = DataSharingAgreement.objects.create(
        reference=reference,
        title=f"Agreement {reference}",
        legal_basis="UK GDPR Article 6(1)(e)",
        purpose="Violence reduction",
        signed_on=values.pop("signed_on", today - dt.timedelta(days=400)),
        ends_on=values.pop("ends_on", today + dt.timedelta(days=500)),
        status=status,
        **values,
    )
    agreement.recipients.set(recipients)
    agreement.providers.set(providers or [])
    return agreement


def login_verified(client: object, user: User) -> None:
    """Sign ``user`` in on a Django test client as if password and TOTP had both passed."""
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, DEMO_TOTP_SECRET)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")  # type: ignore[attr-defined]
    session = client.session  # type: ignore[attr-defined]
    now = timezone.now().timestamp()
    session["account_authentication_methods"] = [
        {"method": "password", "at": now, "email": user.email},
        {"method": "mfa", "at": now, "id": 1, "type": "totp"},
    ]
    # allauth only trusts these records when they name the signed-in user.
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
