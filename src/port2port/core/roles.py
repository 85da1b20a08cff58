"""Roles and the permissions they grant (DESIGN.md §4). Permissions live in code, not data."""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Perm(StrEnum):
    """Every permission, named `<module>:<resource>:<action>`, alphabetical."""

    ACCESS_BAN_REGISTER = "access:ban:register"
    ACCESS_CREDENTIAL_MANAGE = "access:credential:manage"
    ACCESS_DECISION_VIEW = "access:decision:view"
    ACCESS_GATE_DECIDE = "access:gate:decide"
    ACCESS_VISITOR_ANNOUNCE = "access:visitor:announce"
    ACCESS_VISITOR_DECIDE = "access:visitor:decide"
    CORE_AUDIT_VIEW = "core:audit:view"
    CORE_MEMBERSHIP_CHANGE = "core:membership:change"
    CORE_MEMBERSHIP_VIEW = "core:membership:view"
    CORE_ORGANISATION_CHANGE = "core:organisation:change"
    CORE_ORGANISATION_CREATE = "core:organisation:create"
    CORE_ORGANISATION_VIEW = "core:organisation:view"
    CORE_PERSON_CHANGE = "core:person:change"
    CORE_PERSON_CREATE = "core:person:create"
    CORE_PERSON_VIEW = "core:person:view"
    CORE_PORT_VIEW = "core:port:view"
    CORE_TOKEN_CREATE = "core:token:create"
    CORE_TOKEN_REVOKE = "core:token:revoke"
    CORE_TOKEN_VIEW = "core:token:view"
    CORE_USER_CHANGE = "core:user:change"
    CORE_USER_VIEW = "core:user:view"
    DETECTION_ALARM_HANDLE = "detection:alarm:handle"
    DETECTION_ALARM_VIEW = "detection:alarm:view"
    DETECTION_EVENT_INGEST = "detection:event:ingest"
    DETECTION_HOTLIST_MANAGE = "detection:hotlist:manage"
    DETECTION_RULE_MANAGE = "detection:rule:manage"
    REPORTING_CHANNEL_MANAGE = "reporting:channel:manage"
    REPORTING_REPORT_TRIAGE = "reporting:report:triage"
    REPORTING_STATS_VIEW = "reporting:stats:view"
    SHARING_CIRCLE_CREATE = "sharing:circle:create"
    SHARING_ITEM_CREATE = "sharing:item:create"
    SHARING_ITEM_EXPORT = "sharing:item:export"
    SHARING_ITEM_IMPORT = "sharing:item:import"
    SHARING_ITEM_VIEW = "sharing:item:view"
    SITES_SITE_CHANGE = "sites:site:change"
    SITES_SITE_VIEW = "sites:site:view"


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("Platform admin")
    PORT_SECURITY_OFFICER = "port_security_officer", _("Port security officer (PSO)")
    PFSO = "pfso", _("Port facility security officer (PFSO)")
    CONTROL_ROOM_OPERATOR = "control_room_operator", _("Control-room operator")
    PORT_AUTHORITY_OFFICER = (
        "port_authority_officer",
        _("Port authority officer / harbour lieutenant"),
    )
    LCMB_MEMBER = "lcmb_member", _("LCMB member")
    POLICE_LIAISON = "police_liaison", _("Police liaison")
    CUSTOMS_LIAISON = "customs_liaison", _("Customs liaison")
    COMPANY_SECURITY_MANAGER = "company_security_manager", _("Company security manager")
    SECURITY_DESK = "security_desk", _("Security desk")
    EMPLOYEE = "employee", _("Employee")
    VISITOR_HOST = "visitor_host", _("Visitor host")


_EVERYONE = {Perm.CORE_ORGANISATION_VIEW, Perm.CORE_PORT_VIEW, Perm.SITES_SITE_VIEW}
_STAFF_VIEW = _EVERYONE | {Perm.CORE_PERSON_VIEW, Perm.CORE_MEMBERSHIP_VIEW}
_SECURITY_LEAD = _STAFF_VIEW | {
    Perm.CORE_AUDIT_VIEW,
    Perm.CORE_MEMBERSHIP_CHANGE,
    Perm.CORE_ORGANISATION_CHANGE,
    Perm.CORE_PERSON_CHANGE,
    Perm.CORE_PERSON_CREATE,
    Perm.CORE_TOKEN_CREATE,
    Perm.CORE_TOKEN_REVOKE,
    Perm.CORE_TOKEN_VIEW,
    Perm.CORE_USER_CHANGE,
    Perm.CORE_USER_VIEW,
}

# Knowledge sharing: security professionals read, comment, report sightings and export; those who
# speak for their organisation also post, import and start circles.
_SHARING_READER = {Perm.SHARING_ITEM_VIEW, Perm.SHARING_ITEM_EXPORT}
_SHARING_AUTHOR = _SHARING_READER | {
    Perm.SHARING_CIRCLE_CREATE,
    Perm.SHARING_ITEM_CREATE,
    Perm.SHARING_ITEM_IMPORT,
}
# Access: officers manage their staff's credentials and rights and read the decision log; the
# security desk asks decisions and reads the log; port authorities and police register bans.
# Visitors: hosts (shipping agents) announce; the terminal's desk approves, checks in and out.
_ACCESS_DESK = {Perm.ACCESS_DECISION_VIEW, Perm.ACCESS_GATE_DECIDE, Perm.ACCESS_VISITOR_DECIDE}
_ACCESS_MANAGER = _ACCESS_DESK | {Perm.ACCESS_CREDENTIAL_MANAGE, Perm.ACCESS_VISITOR_ANNOUNCE}
_SECURITY_LEAD = _SECURITY_LEAD | _SHARING_AUTHOR | _ACCESS_MANAGER

# Anonymous reporting: police hubs and port security triage the reports of their channels; the
# port's security officers set up its channels; the platform's security bodies read statistics.
_REPORT_TRIAGE = {Perm.REPORTING_REPORT_TRIAGE, Perm.REPORTING_STATS_VIEW}

# Detection: the control room watches and handles its port's alarms; the port's security officers
# and port authority set up rules, hotlists and devices; police keep hotlists of wanted plates.
_CONTROL_ROOM = {Perm.DETECTION_ALARM_VIEW, Perm.DETECTION_ALARM_HANDLE}
_DETECTION_SETUP = _CONTROL_ROOM | {Perm.DETECTION_RULE_MANAGE, Perm.DETECTION_HOTLIST_MANAGE}

ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.PLATFORM_ADMIN: frozenset(Perm),
    Role.PORT_SECURITY_OFFICER: frozenset(
        _SECURITY_LEAD
        | _REPORT_TRIAGE
        | _DETECTION_SETUP
        | {Perm.SITES_SITE_CHANGE, Perm.ACCESS_BAN_REGISTER, Perm.REPORTING_CHANNEL_MANAGE}
    ),
    Role.PFSO: frozenset(_SECURITY_LEAD | {Perm.SITES_SITE_CHANGE}),
    Role.COMPANY_SECURITY_MANAGER: frozenset(_SECURITY_LEAD),
    Role.CONTROL_ROOM_OPERATOR: frozenset(_STAFF_VIEW | _SHARING_READER | _CONTROL_ROOM),
    Role.PORT_AUTHORITY_OFFICER: frozenset(
        _STAFF_VIEW
        | _SHARING_AUTHOR
        | _ACCESS_DESK
        | _DETECTION_SETUP
        | {Perm.CORE_AUDIT_VIEW, Perm.SITES_SITE_CHANGE, Perm.ACCESS_BAN_REGISTER}
    ),
    Role.LCMB_MEMBER: frozenset(_STAFF_VIEW | _SHARING_AUTHOR | {Perm.REPORTING_STATS_VIEW}),
    Role.POLICE_LIAISON: frozenset(
        _STAFF_VIEW
        | _SHARING_AUTHOR
        | _REPORT_TRIAGE
        | {Perm.ACCESS_BAN_REGISTER, Perm.DETECTION_HOTLIST_MANAGE}
    ),
    Role.CUSTOMS_LIAISON: frozenset(_STAFF_VIEW | _SHARING_AUTHOR),
    Role.SECURITY_DESK: frozenset(_STAFF_VIEW | _SHARING_READER | _ACCESS_DESK),
    Role.EMPLOYEE: frozenset(_EVERYONE),
    Role.VISITOR_HOST: frozenset(_EVERYONE | {Perm.ACCESS_VISITOR_ANNOUNCE}),
}

# Roles whose reach for a permission extends from their organisation to every organisation of
# the organisation's ports, when held in a port authority (DESIGN.md §4: port authority staff
# see their port's organisations).
PORT_WIDE_ROLES = frozenset({Role.PORT_SECURITY_OFFICER, Role.PORT_AUTHORITY_OFFICER})
PORT_WIDE_PERMS = frozenset({Perm.CORE_ORGANISATION_VIEW})

# What an organisation API token may be scoped to: reads, and the writes a machine does.
TOKEN_SCOPES = frozenset(
    {
        Perm.CORE_AUDIT_VIEW,
        Perm.CORE_MEMBERSHIP_VIEW,
        Perm.CORE_ORGANISATION_VIEW,
        Perm.CORE_PERSON_CREATE,
        Perm.CORE_PERSON_VIEW,
        Perm.CORE_PORT_VIEW,
        Perm.SHARING_ITEM_EXPORT,
        Perm.SHARING_ITEM_IMPORT,
        Perm.SHARING_ITEM_VIEW,
        Perm.SITES_SITE_VIEW,
        Perm.ACCESS_GATE_DECIDE,
        Perm.ACCESS_VISITOR_ANNOUNCE,
        Perm.DETECTION_EVENT_INGEST,
        Perm.DETECTION_HOTLIST_MANAGE,
    }
)

# Roles that only a platform admin may hand out.
ADMIN_ONLY_ROLES = frozenset({Role.PLATFORM_ADMIN})

# What a security officer of an organisation may hand out there besides their own role: roles of
# day-to-day staff. Liaison, authority and port-wide roles speak for others; only platform admins
# grant them.
LOCALLY_GRANTABLE = frozenset(
    {Role.SECURITY_DESK, Role.EMPLOYEE, Role.VISITOR_HOST, Role.CONTROL_ROOM_OPERATOR}
)
