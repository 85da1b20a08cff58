"""Demo reporting: the national Portwatch line (shipping police information hub), Antwerp's
"Onze Haven Drugsvrij" line (port security), the Liège team, and a few reports to triage."""

from __future__ import annotations

from django.conf import settings

from port2port.core import audit
from port2port.core.models import Organisation, Port
from port2port.core.visibility import SYSTEM

from . import pow, services
from .models import Channel, TriageTeam

PORTWATCH_QUESTIONS = [
    {
        "key": "approach",
        "type": "choice",
        "label": {
            "en": "How were you approached?",
            "nl": "Hoe werd u benaderd?",
            "fr": "Comment avez-vous été approché ?",
            "de": "Wie wurden Sie angesprochen?",
        },
        "choices": [
            {
                "value": "in_person",
                "label": {
                    "en": "In person",
                    "nl": "Persoonlijk",
                    "fr": "En personne",
                    "de": "Persönlich",
                },
            },
            {
                "value": "phone",
                "label": {
                    "en": "By phone or app",
                    "nl": "Telefonisch of via een app",
                    "fr": "Par téléphone ou application",
                    "de": "Per Telefon oder App",
                },
            },
            {
                "value": "other",
                "label": {"en": "Otherwise", "nl": "Anders", "fr": "Autrement", "de": "Anders"},
            },
        ],
        "required": True,
        "show_if": {"key": "category", "in": ["recruitment", "corruption"]},
    },
    {
        "key": "seen_before",
        "type": "yes_no",
        "label": {
            "en": "Have you seen this before?",
            "nl": "Hebt u dit al eerder gezien?",
            "fr": "Avez-vous déjà vu cela ?",
            "de": "Haben Sie das schon einmal gesehen?",
        },
    },
]

ANTWERP_QUESTIONS = [
    {
        "key": "terminal",
        "type": "text",
        "label": {
            "en": "Terminal or quay (if you know it)",
            "nl": "Terminal of kaai (als u die kent)",
            "fr": "Terminal ou quai (si vous le savez)",
            "de": "Terminal oder Kai (falls bekannt)",
        },
    },
]

DEMO_REPORTS = [
    ("portwatch", "BELGG", "drone", "A drone circled above the Trilogiport containers at night."),
    (
        "portwatch",
        "BEZEE",
        "recruitment",
        "A man offered me money to leave a reefer seal untouched.",
    ),
    (
        "onze-haven-drugsvrij",
        "BEANR",
        "drug_smuggling",
        "Bags moved between two containers during the night shift.",
    ),
]


def seed_reporting_demo() -> int:
    if TriageTeam.objects.exists():
        return 0
    police = Organisation.objects.filter(short_name="SPN-A").first()
    antwerp = Organisation.objects.filter(short_name="POAB").first()
    liege = Organisation.objects.filter(short_name="PAL").first()
    if not (police and antwerp and liege):
        return 0
    ports = {p.locode: p for p in Port.objects.all()}
    hub = services.team_create(
        actor=SYSTEM, organisation=police, name="Portwatch information hub (shipping police)"
    )
    anr = services.team_create(
        actor=SYSTEM,
        organisation=antwerp,
        name="Port security Antwerp-Bruges",
        ports=[ports[c] for c in ("BEANR", "BEZEE") if c in ports],
    )
    services.team_create(
        actor=SYSTEM,
        organisation=liege,
        name="Sûreté portuaire Liège",
        ports=[ports[c] for c in ("BELGG",) if c in ports],
    )
    services.channel_save(
        actor=SYSTEM,
        team=hub,
        slug="portwatch",
        name="Portwatch",
        questions=PORTWATCH_QUESTIONS,
        languages=["nl", "fr", "en"],
        intro={
            "en": "Report suspicious situations in any Belgian port, anonymously.",
            "nl": "Meld verdachte situaties in elke Belgische haven, anoniem.",
            "fr": "Signalez anonymement des situations suspectes dans tout port belge.",
        },
        retention_days=365,
    )
    services.channel_save(
        actor=SYSTEM,
        team=anr,
        slug="onze-haven-drugsvrij",
        name="Onze Haven Drugsvrij",
        questions=ANTWERP_QUESTIONS,
        languages=["nl", "en", "fr", "de"],
        intro={
            "nl": "Zie je iets verdachts in de haven van Antwerpen? Meld het, anoniem.",
            "en": "Seen something suspicious in the port of Antwerp? Report it, anonymously.",
        },
        ports=[ports[c] for c in ("BEANR",) if c in ports],
        retention_days=730,
    )
    created = 0
    receipts = []
    bits = min(pow.bits(), 12)
    original = getattr(settings, "REPORTING_POW_BITS", 16)
    settings.REPORTING_POW_BITS = bits  # the demo does the browser's work itself, cheaply
    try:
        for slug, locode, category, what in DEMO_REPORTS:
            channel = Channel.objects.get(slug=slug)
            challenge = pow.challenge_issue(slug)
            data = {"category": category, "port": locode, "what": what, "place": ""}
            if category == "recruitment":
                data["approach"] = "in_person"
            submitted = services.report_submit(
                channel=channel,
                data=data,
                language="en",
                challenge=challenge,
                nonce=pow.solve(challenge, bits),
            )
            receipts.append((slug, submitted.receipt))
            created += 1
    finally:
        settings.REPORTING_POW_BITS = original
    _write_demo_receipts(receipts)
    audit.record(None, "demo.reporting.seeded", details={"reports": created})
    return created


def _write_demo_receipts(receipts) -> None:
    """Demo only: the receipts of the seeded reports, to try the follow-up page."""
    path = settings.VAR_DIR / "demo-receipts.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{slug} {receipt}\n" for slug, receipt in receipts))
    path.chmod(0o600)


def demo_receipts() -> list[tuple[str, str]]:
    path = settings.VAR_DIR / "demo-receipts.txt"
    if not path.exists():
        return []
    return [tuple(line.split()) for line in path.read_text().splitlines() if line.strip()]
