"""Factories of core objects, and helpers to sign a user in as the browser would."""

from __future__ import annotations

import factory
from django.utils import timezone

from port2port.core.middleware import SECOND_FACTOR_SESSION_KEY
from port2port.core.models import (
    ClearanceLevel,
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    Port,
    PortKind,
    User,
)

PASSWORD = "correct horse battery staple"


class PortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Port
        django_get_or_create = ("locode",)

    locode = factory.Sequence(
        lambda n: "BE" + "".join("ABCDEFGHJKLMNPQRSTUVWXYZ"[(n // 24**i) % 24] for i in range(3))
    )
    name = factory.Sequence(lambda n: f"Port {n}")
    kind = PortKind.SEA


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = OrganisationKind.COMPANY

    @factory.post_generation
    def ports(self, create, extracted, **kwargs):
        if create:
            self.ports.set(extracted if extracted is not None else [PortFactory()])


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    organisation = factory.SubFactory(OrganisationFactory)
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    email = factory.LazyAttribute(
        lambda p: f"{p.given_name}.{p.family_name}@example.org".lower().replace(" ", "")
    )


class UserFactory(factory.django.DjangoModelFactory):
    """A user employed by `person.organisation`, with `roles` there (a membership)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    person = factory.SubFactory(PersonFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            Membership.objects.create(
                user=self, organisation=self.person.organisation, roles=list(extracted)
            )
        self.save()


def user_in(organisation, *roles, clearance: str = ClearanceLevel.NONE, **kwargs) -> User:
    user = UserFactory(person=PersonFactory(organisation=organisation), roles=list(roles), **kwargs)
    if clearance != ClearanceLevel.NONE:
        user.clearance_level = clearance
        user.clearance_valid_until = timezone.localdate().replace(
            year=timezone.localdate().year + 1
        )
        user.save()
    return user


def sign_in(client, user) -> None:
    """A session as after a complete login (password, and the second factor when required)."""
    client.force_login(user)
    session = client.session
    session[SECOND_FACTOR_SESSION_KEY] = "totp" if user.requires_second_factor else ""
    session.save()


def users_with(orgs, specs) -> list[User]:
    """Users for visibility tests: each spec is ([(organisation index, role), ...], active)."""
    from port2port.core.models import Membership

    users = []
    for grants, active in specs:
        first_org, first_role = grants[0]
        user = user_in(orgs[first_org % len(orgs)], first_role)
        for org_ix, role in grants[1:]:
            Membership.objects.get_or_create(
                user=user, organisation=orgs[org_ix % len(orgs)], defaults={"roles": [role]}
            )
        User.objects.filter(pk=user.pk).update(is_active=active)
        users.append(User.objects.get(pk=user.pk))
    return users
