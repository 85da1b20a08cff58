"""Demo content of knowledge sharing: the circles of the brochure and realistic items."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from port2port.core import audit
from port2port.core.models import Organisation, User

from .models import (
    TOPIC_LABELS,
    Circle,
    CircleMember,
    Distribution,
    Indicator,
    Item,
    ItemSearch,
    Kind,
    Tlp,
    Topic,
)

CIRCLES = [
    (
        "Taskforce Containers",
        "Ports, police and customs against drug smuggling in containers.",
        ["POAB", "NSP", "SPN-A", "AAD&A-A", "SCT", "DGT"],
        ["pfso.liege"],
    ),
    (
        "Security Think Tank",
        "Port security officers of all Belgian ports.",
        ["POAB", "NSP", "POO", "POB", "PAL", "LPF"],
        [],
    ),
    (
        "PFSO network North Sea Port",
        "Facility security officers around Ghent.",
        ["NSP", "GBCT"],
        [],
    ),
    (
        "Port Security Steering Committee",
        "Port authorities, NAMB and the National Drug Commissariat.",
        ["POAB", "NSP", "NAMB", "NDC"],
        ["lcmb.antwerp"],
    ),
]

# author username, kind, title, body, language, tlp, distribution, circle, topics, ports, urgency, days ago
ITEMS = [
    (
        "pso.antwerp",
        Kind.MODUS_OPERANDI,
        "Cloned seals on reefer containers",
        "Criminals replace the high-security seal of reefer containers with **cloned seals** carrying the "
        "original number. Check the seal's laser engraving and the bolt head under UV light.\n\n"
        "- seen on reefers from South America\n- extraction during the night shift",
        "en",
        Tlp.AMBER,
        Distribution.CIRCLE,
        "Taskforce Containers",
        ["smuggling", "inspections"],
        ["BEANR", "BEZEE"],
        "urgent",
        0,
    ),
    (
        "pso.northsea",
        Kind.BEST_PRACTICE,
        "Toegangscontrole met dubbele badgecontrole aan de kaai",
        "Sinds maart controleren we aan elke kaai-ingang zowel de badge als het kenteken. "
        "Het aantal onbevoegde doorgangen daalde met 60 procent.",
        "nl",
        Tlp.GREEN,
        Distribution.PLATFORM,
        None,
        ["access-control"],
        ["BEGNE"],
        "routine",
        3,
    ),
    (
        "pso.liege",
        Kind.LESSON_LEARNED,
        "Drone au-dessus du terminal à conteneurs de Trilogiport",
        "Un drone a survolé le terminal pendant 20 minutes. Leçon : le numéro d'appel de la police doit être affiché "
        "dans la salle de contrôle. La sûreté du site a été renforcée.",
        "fr",
        Tlp.GREEN,
        Distribution.PLATFORM,
        None,
        ["drones"],
        ["BELGG"],
        "priority",
        5,
    ),
    (
        "pfso.sct",
        Kind.INSPECTION_INSIGHT,
        "Fence inspection: cuts hidden behind stacked empties",
        "Perimeter fence segments behind stacks of empty containers were cut and tied back with wire. "
        "Walk the fence line behind stacks weekly.",
        "en",
        Tlp.AMBER,
        Distribution.PORT_COMMUNITY,
        None,
        ["perimeter", "inspections"],
        ["BEANR"],
        "priority",
        2,
    ),
    (
        "police.antwerp",
        Kind.INCIDENT_SUMMARY,
        "Recruitment of dock workers via social media",
        "Young port workers are approached through social media with offers of 5,000 euro to move a container. "
        "Report approaches to Portwatch.",
        "en",
        Tlp.AMBER,
        Distribution.CIRCLE,
        "Taskforce Containers",
        ["recruitment-corruption"],
        ["BEANR"],
        "urgent",
        1,
    ),
    (
        "pso.brussels",
        Kind.TRAINING_MATERIAL,
        "Ronselproof: gesprekskaart voor leidinggevenden",
        "Een kaart met vijf vragen om signalen van ronselen bij medewerkers te herkennen.",
        "nl",
        Tlp.CLEAR,
        Distribution.PLATFORM,
        None,
        ["training-awareness", "recruitment-corruption"],
        ["BEBRU"],
        "routine",
        10,
    ),
    (
        "pso.ostend",
        Kind.BEST_PRACTICE,
        "Thermal cameras on the ro-ro ramp",
        "Thermal cameras on the ramp detect stowaways in trailers before boarding.",
        "en",
        Tlp.GREEN,
        Distribution.PORT_COMMUNITY,
        None,
        ["ai-cameras"],
        ["BEOST"],
        "routine",
        7,
    ),
    (
        "customs.antwerp",
        Kind.MODUS_OPERANDI,
        "Rip-on/rip-off: bags behind the cooling unit",
        "Sports bags found in the space behind the cooling unit of reefers. Scan the front wall.",
        "en",
        Tlp.AMBER_STRICT,
        Distribution.ORGANISATION,
        None,
        ["smuggling"],
        ["BEANR"],
        "priority",
        4,
    ),
    (
        "lcmb.antwerp",
        Kind.DOCUMENT,
        "LCMB Antwerp: security level review minutes",
        "Minutes of the quarterly review of security levels. For the steering committee only.",
        "en",
        Tlp.RED,
        Distribution.NAMED,
        None,
        ["inspections"],
        ["BEANR"],
        "routine",
        6,
    ),
    (
        "pso.antwerp",
        Kind.CYBER_INDICATORS,
        "Phishing against terminal operating system users",
        "Credential phishing pages imitating the terminal operating system login.",
        "en",
        Tlp.GREEN,
        Distribution.PLATFORM,
        None,
        ["cyber"],
        ["BEANR", "BEZEE", "BEGNE"],
        "priority",
        2,
    ),
]


def seed_sharing_demo() -> int:
    created = 0
    for slug in TOPIC_LABELS:  # the migration seeds them; a flushed test database may lack them
        Topic.objects.get_or_create(slug=slug)
    orgs = {o.short_name: o for o in Organisation.objects.all()}
    users = {u.username: u for u in User.objects.all()}
    circles = {}
    for name, description, members, people in CIRCLES:
        circle, new = Circle.objects.get_or_create(name=name, defaults={"description": description})
        circles[name] = circle
        if not new:
            continue
        created += 1
        for index, short in enumerate(members):
            if short in orgs:
                CircleMember.objects.create(
                    circle=circle,
                    organisation=orgs[short],
                    status=CircleMember.Status.ACTIVE,
                    is_owner=index == 0,
                )
        for username in people:
            if username in users:
                CircleMember.objects.create(
                    circle=circle, user=users[username], status=CircleMember.Status.ACTIVE
                )
        audit.record(None, "demo.circle.created", circle)
    now = timezone.now()
    for (
        author,
        kind,
        title,
        body,
        language,
        tlp,
        distribution,
        circle,
        topics,
        ports,
        urgency,
        days,
    ) in ITEMS:
        if Item.objects.filter(title=title).exists() or author not in users:
            continue
        user = users[author]
        item = Item.objects.create(
            source_org=user.person.organisation,
            author=user,
            kind=kind,
            title=title,
            body=body,
            language=language,
            tlp=tlp,
            distribution=distribution,
            circle=circles.get(circle) if circle else None,
            urgency=urgency,
            created_at=now - timedelta(days=days, hours=3),
            updated_at=now - timedelta(days=days, hours=3),
        )
        item.topics.set(topics)
        from port2port.core.models import Port

        item.ports.set(Port.objects.filter(locode__in=ports))
        if tlp == Tlp.RED:
            item.recipients.set([users[u] for u in ("namb.officer", "pso.antwerp") if u in users])
        if kind == Kind.CYBER_INDICATORS:
            Indicator.objects.bulk_create(
                [
                    Indicator(
                        item=item,
                        name="phishing domain",
                        pattern=f"[domain-name:value = 'tos-login{n}.example-port.be']",
                        pattern_type="stix",
                        value_type="domain",
                        value=f"tos-login{n}.example-port.be",
                    )
                    for n in range(1, 6)
                ]
            )
        ItemSearch.objects.create(item=item, language=language, title=title, body=body)
        audit.record(user, "demo.item.created", item, organisation=item.source_org_id)
        created += 1
    return created
