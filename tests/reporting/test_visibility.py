"""The one visibility rule of reports, against a brute-force oracle (issue 4): a report is seen by
the people who triage in the organisation of a team it was sealed to (its channel's team, and each
team it was forwarded to), and by nobody else."""

import uuid

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from port2port.core.models import Membership, User
from port2port.core.roles import Role
from port2port.core.visibility import SYSTEM, TokenPrincipal
from port2port.reporting import selectors, services
from port2port.reporting.models import Channel, Report, ReportAccess, TriageTeam

from ..core.factories import OrganisationFactory, PortFactory, user_in, users_with

pytestmark = pytest.mark.django_db

ROLES = [
    Role.POLICE_LIAISON,  # triages
    Role.PORT_SECURITY_OFFICER,  # triages and manages channels
    Role.PORT_AUTHORITY_OFFICER,  # port-wide in other matters, never for reports
    Role.LCMB_MEMBER,  # statistics only
    Role.EMPLOYEE,
    Role.PLATFORM_ADMIN,
]


def oracle(user: User, report: Report) -> bool:
    """Written from the rule of issue 4, independently of the selector."""
    if not user.is_active:
        return False
    memberships = list(Membership.objects.filter(user=user))
    # no blanket reach for platform admins here: only as members of a team's organisation
    triage_orgs = {m.organisation_id for m in memberships if "reporting:report:triage" in m.perms()}
    return any(
        access.team.organisation_id in triage_orgs
        for access in ReportAccess.objects.filter(report=report).select_related("team")
    )


world_strategy = st.fixed_dictionaries(
    {
        "orgs": st.integers(2, 4),
        "teams": st.lists(st.integers(0, 3), min_size=1, max_size=4),  # the team's organisation
        "users": st.lists(
            st.tuples(
                st.lists(
                    st.tuples(st.integers(0, 3), st.sampled_from(ROLES)), min_size=1, max_size=2
                ),
                st.booleans(),  # active
            ),
            min_size=1,
            max_size=5,
        ),
        "reports": st.lists(
            st.tuples(
                st.integers(0, 3),  # the channel's team
                st.sets(st.integers(0, 3), max_size=3),  # forwarded to, in turn
                st.integers(-1, 4),  # assigned to (-1: nobody)
            ),
            min_size=1,
            max_size=6,
        ),
    }
)


class _Rollback(Exception):
    pass


def _forward(report: Report, team: TriageTeam) -> None:
    """What services.report_forward stores, without the keys (the rule does not read them)."""
    ReportAccess.objects.get_or_create(report=report, team=team, defaults={"sealed_key": b"k"})
    Report.objects.filter(pk=report.pk).update(team=team, status=Report.Status.FORWARDED)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world_strategy)
def test_selector_matches_the_oracle(data):
    try:
        with transaction.atomic():
            orgs = [OrganisationFactory(ports=[PortFactory()]) for _ in range(data["orgs"])]
            teams = [
                TriageTeam.objects.create(
                    organisation=orgs[ix % len(orgs)],
                    name=f"team {n}",
                    public_key=b"p",
                    private_key_box=b"s",
                )
                for n, ix in enumerate(data["teams"])
            ]
            channels = [
                Channel.objects.create(slug=f"c{n}", name=f"c{n}", team=team, languages=["en"])
                for n, team in enumerate(teams)
            ]
            users = users_with(orgs, data["users"])
            reports = []
            hour = timezone.now().replace(minute=0, second=0, microsecond=0)
            for team_ix, forwards, assignee_ix in data["reports"]:
                channel = channels[team_ix % len(channels)]
                report = Report.objects.create(
                    channel=channel,
                    team=channel.team,
                    category="drone",
                    language="en",
                    submitted_hour=hour,
                    receipt_lookup=uuid.uuid4().hex,
                    reporter_key_box=b"r",
                    content=b"c",
                    assigned_to=users[assignee_ix % len(users)] if assignee_ix >= 0 else None,
                )
                ReportAccess.objects.create(report=report, team=channel.team, sealed_key=b"k")
                for ix in sorted(forwards):
                    if teams[ix % len(teams)].pk != Report.objects.get(pk=report.pk).team_id:
                        _forward(report, teams[ix % len(teams)])
                reports.append(Report.objects.get(pk=report.pk))
            for user in users:
                expected = {r.pk for r in reports if oracle(user, r)}
                got = set(selectors.reports_visible_to(user).values_list("pk", flat=True))
                assert got == expected, user.username
                mine = selectors.reports_visible_to(user, selectors.QueueFilter(mine=True))
                assert set(mine.values_list("pk", flat=True)) == {
                    r.pk for r in reports if r.pk in expected and r.assigned_to_id == user.pk
                }
                assert selectors.open_reports_count(user) == len(expected)  # none closed here
            raise _Rollback
    except _Rollback:
        pass


def test_forwarding_keeps_the_first_team_and_adds_only_the_target(settings, monkeypatch):
    """With the real services and keys: after a forward both teams read it, a third cannot even
    decrypt it, and an API token without a reporting scope sees nothing."""
    from port2port.core import services as core_services
    from port2port.core.errors import Forbidden
    from port2port.reporting import crypto, pow

    settings.REPORTING_POW_BITS = 4
    monkeypatch.setattr(crypto, "RECEIPT_OPSLIMIT", 1)
    monkeypatch.setattr(crypto, "RECEIPT_MEMLIMIT", 8 * 1024)
    orgs = [OrganisationFactory(ports=[PortFactory()]) for _ in range(3)]
    teams = [
        services.team_create(actor=SYSTEM, organisation=org, name=f"team {n}")
        for n, org in enumerate(orgs)
    ]
    channel = services.channel_save(actor=SYSTEM, team=teams[0], slug="pw", name="PW", questions=[])
    challenge = pow.challenge_issue(channel.slug)
    report = services.report_submit(
        channel=channel,
        data={"category": "cyber", "what": "phishing mails to the terminal"},
        challenge=challenge,
        nonce=pow.solve(challenge, 4),
    ).report
    first, second, third = (user_in(org, Role.POLICE_LIAISON) for org in orgs)
    services.report_forward(actor=first, report=report, team=teams[1])
    for user in (first, second):
        assert list(selectors.reports_visible_to(user)) == [report]
        assert services.report_open(actor=user, report=report).answers["what"].startswith("phish")
    assert not selectors.reports_visible_to(third).exists()
    with pytest.raises(Forbidden):
        services.report_open(actor=third, report=report)
    token, _secret = core_services.token_create(
        actor=user_in(orgs[0], Role.PORT_SECURITY_OFFICER),
        organisation=orgs[0],
        name="siem",
        scopes=["sharing:item:view"],
    )
    assert not selectors.reports_visible_to(TokenPrincipal(token)).exists()
