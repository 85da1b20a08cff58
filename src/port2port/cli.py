"""The `port2port` command: demo, serve, seed-demo, createadmin, token create, audit verify, ..."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "port2port.settings")
    import django

    django.setup()


def _manage(*args: str, **options) -> None:
    from django.core.management import call_command

    call_command(*args, **options)


def cmd_compilemessages(_args) -> int:
    """Compile the .po catalogues to .mo with polib (no GNU gettext needed on the machine)."""
    import polib

    locale_dir = Path(__file__).resolve().parent / "locale"
    count = 0
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        polib.pofile(str(po_path)).save_as_mofile(str(po_path.with_suffix(".mo")))
        count += 1
    print(f"compiled {count} catalogues")
    return 0


def cmd_migrate(_args) -> int:
    _django()
    _manage("migrate", "--no-input", verbosity=0)
    return 0


def cmd_seed_demo(_args) -> int:
    _django()
    from port2port.core.demo import seed_demo

    summary = seed_demo()
    print(summary)
    return 0


def _print_logins() -> None:
    from port2port.core.demo import demo_logins

    logins, password = demo_logins()
    print(f"\nDemo logins (password for all: {password})")
    print(f"{'username':<20} {'role':<56} {'TOTP key (base32)'}")
    for row in logins:
        print(f"{row['username']:<20} {row['role']:<56} {row['totp'] or '-'}")
    print("\nAccounts with a TOTP key ask for a code: add the key to an authenticator app,")
    print("or print the current code with: .venv/bin/port2port demo-code USERNAME")
    from port2port.reporting.demo import demo_receipts

    receipts = demo_receipts()
    if receipts:
        print("\nAnonymous reporting: report at /report/; receipts of the demo reports, to follow")
        print("them up at /report/follow-up/: " + ", ".join(f"{s} {r}" for s, r in receipts))


def cmd_demo(args) -> int:
    cmd_compilemessages(args)
    cmd_migrate(args)
    cmd_seed_demo(args)
    _print_logins()
    return cmd_serve(args)


def cmd_serve(args) -> int:
    _django()
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from port2port.asgi import ServerConfig

    host, port = args.host, args.port
    workers = max(1, getattr(args, "workers", 1))
    print(f"\nPort 2 Port is served at http://{host}:{port}/  (Ctrl+C stops it)\n", flush=True)
    config = ServerConfig(
        "port2port.asgi:application",
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        workers=workers,
    )
    server = uvicorn.Server(config=config)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_demo_code(args) -> int:
    _django()
    from port2port.core.demo import demo_totp_code

    code = demo_totp_code(args.username)
    if code is None:
        print(f"{args.username} is not a demo account with an authenticator", file=sys.stderr)
        return 1
    print(code)
    return 0


def cmd_createadmin(args) -> int:
    _django()
    from port2port.core.services import platform_admin_bootstrap as admin_create

    password = os.environ.get("PORT2PORT_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    try:
        user = admin_create(username=args.username, email=args.email or "", password=password)
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"platform admin {user.username} created; they enrol an authenticator at first login")
    return 0


def cmd_token_create(args) -> int:
    _django()
    from datetime import timedelta

    from django.utils import timezone

    from port2port.core.errors import AppError
    from port2port.core.models import Organisation
    from port2port.core.services import token_create
    from port2port.core.visibility import SYSTEM

    organisation = Organisation.objects.filter(name=args.organisation).first()
    if organisation is None:
        print(f"error: no organisation named “{args.organisation}”", file=sys.stderr)
        return 2
    expires = timezone.now() + timedelta(days=args.days) if args.days else None
    try:
        token, secret = token_create(
            actor=SYSTEM,
            organisation=organisation,
            name=args.name,
            scopes=args.scope,
            expires_at=expires,
        )
    except AppError as exc:
        print(f"error: {exc.message} {exc.fields}", file=sys.stderr)
        return 2
    print(f"token {token.prefix} for {organisation.name}, scopes {', '.join(token.scopes)}")
    print("shown once, store it now:")
    print(secret)
    return 0


def cmd_audit_verify(_args) -> int:
    _django()
    from port2port.core.audit import verify

    result = verify()
    if result.ok:
        print(f"audit log intact: {result.checked} records checked")
        return 0
    print(f"audit log BROKEN at record #{result.broken_seq}: {result.problem}", file=sys.stderr)
    print(f"{result.checked} records checked before the break", file=sys.stderr)
    return 1


def cmd_sharing_import(args) -> int:
    _django()
    from port2port.core.errors import AppError
    from port2port.core.models import Organisation
    from port2port.core.visibility import OrganisationActor
    from port2port.sharing.services import items_import

    organisation = (
        Organisation.objects.filter(name=args.org).first()
        or Organisation.objects.filter(short_name=args.org).first()
    )
    if organisation is None:
        print(f"error: no organisation named “{args.org}”", file=sys.stderr)
        return 2
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        report = items_import(
            actor=OrganisationActor(organisation),
            fmt=args.format,
            data=data,
            tlp=args.tlp,
            distribution=args.distribution,
        )
    except AppError as exc:
        print(f"error: nothing imported: {exc.message}", file=sys.stderr)
        return 2
    print(
        f"imported {len(report.items)} item(s) with {report.indicators} indicator(s) for {organisation.name}"
    )
    for item in report.items:
        print(f"  {item.pk}  TLP:{item.tlp.upper():<12} {item.title}")
    for note in report.tightened:
        print(f"  note: {note}")
    print(f"skipped {len(report.skipped)} object(s)")
    for skipped in report.skipped:
        print(f"  {skipped.ref}: {skipped.reason}")
    return 0


def cmd_sharing_export(args) -> int:
    _django()
    import json

    from port2port.core.models import Organisation
    from port2port.core.visibility import OrganisationActor
    from port2port.sharing.services import items_export_stix

    organisation = (
        Organisation.objects.filter(name=args.org).first()
        or Organisation.objects.filter(short_name=args.org).first()
    )
    if organisation is None:
        print(f"error: no organisation named “{args.org}”", file=sys.stderr)
        return 2
    bundle = items_export_stix(actor=OrganisationActor(organisation))
    text = json.dumps(bundle, indent=1)
    if args.out == "-":
        print(text)
    else:
        Path(args.out).write_text(text)
    reports = sum(1 for o in bundle.get("objects", []) if o.get("type") in {"report", "note"})
    indicators = sum(1 for o in bundle.get("objects", []) if o.get("type") == "indicator")
    print(
        f"exported {reports} item(s) and {indicators} indicator(s) that {organisation.name} may see",
        file=sys.stderr,
    )
    return 0


def cmd_sharing_digest(_args) -> int:
    _django()
    from port2port.sharing.services import digest_send

    print(f"sent {digest_send()} digest(s)")
    return 0


def cmd_access_decide(args) -> int:
    _django()
    import json
    from datetime import datetime

    from port2port.access.services import gate_decide, reason_text
    from port2port.core.errors import AppError
    from port2port.core.visibility import SYSTEM

    try:
        at = datetime.fromisoformat(args.at) if args.at else None
    except ValueError:
        print(json.dumps({"error": "invalid", "message": f"--at {args.at!r} is not an ISO time"}))
        return 2
    if at is not None and at.tzinfo is None:
        from django.utils import timezone

        at = timezone.make_aware(at)
    kind, value = next(
        (kind, value)
        for kind, value in (
            ("badge", args.badge),
            ("plate", args.plate),
            ("identity", args.identity),
        )
        if value
    )
    try:
        decision = gate_decide(
            actor=SYSTEM,
            gate_code=args.gate,
            kind=kind,
            value=value,
            direction=args.direction,
            at=at,
        )
    except AppError as exc:
        print(json.dumps(exc.as_dict()))
        return 2
    result = {
        "decision": "grant" if decision.granted else "deny",
        "reasons": [str(r) for r in decision.reasons],
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(result["decision"].upper(), "—", " ".join(reason_text(r) for r in decision.reasons))
    return 0


def cmd_reports_retention(args) -> int:
    _django()
    from port2port.reporting.services import retention_run

    result = retention_run()
    print(
        f"{result['warned']} reports announced for deletion in 72 hours, {result['deleted']} deleted"
    )
    return 0


def cmd_access_device(args) -> int:
    _django()
    from port2port.access.services import device_issue
    from port2port.core.errors import AppError
    from port2port.core.visibility import SYSTEM
    from port2port.sites.models import Gate

    gate = Gate.objects.filter(code=args.gate).first()
    if gate is None:
        print(f"error: no gate has the code “{args.gate}”", file=sys.stderr)
        return 2
    try:
        device, secret = device_issue(actor=SYSTEM, gate=gate, name=args.name)
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(f"device {device.name} ({device.prefix}) for gate {gate.code}; its token, shown once:")
    print(secret)
    return 0


def cmd_access_replay(args) -> int:
    _django()
    from port2port.access.journal import replay

    print(f"{replay()} decisions stored from journals no running process holds")
    return 0


def cmd_access_import(args) -> int:
    _django()
    from port2port.access.csv_import import csv_import
    from port2port.core.errors import AppError
    from port2port.core.models import Organisation, OrganisationKind
    from port2port.core.visibility import OrganisationActor

    organisation = (
        Organisation.objects.filter(name=args.org).first()
        or Organisation.objects.filter(short_name=args.org).first()
    )
    if organisation is None:
        print(f"error: no organisation named “{args.org}”", file=sys.stderr)
        return 2
    registrars = {
        OrganisationKind.PORT_AUTHORITY,
        OrganisationKind.POLICE,
        OrganisationKind.AUTHORITY_NAMB,
        OrganisationKind.AUTHORITY_CMB,
    }
    if args.kind in {"bans", "verifications"} and organisation.kind not in registrars:
        print(f"error: {organisation.name} does not register {args.kind}", file=sys.stderr)
        return 2
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        report = csv_import(
            actor=OrganisationActor(organisation),
            kind=args.kind,
            text=text,
            dry_run=args.dry_run,
            valid_only=args.valid_only,
        )
    except AppError as exc:
        print(f"error: nothing stored: {exc.message}", file=sys.stderr)
        return 2
    for line in report.lines:
        print(
            f"line {line.number}: {'ok' if line.ok else 'ERROR'} {'' if line.ok else line.message}".rstrip()
        )
    valid = len(report.lines) - len(report.errors)
    if report.dry_run:
        print(f"dry run: {valid} valid, {len(report.errors)} with errors; nothing stored")
    elif report.errors and not args.valid_only:
        print(
            f"{len(report.errors)} line(s) with errors: nothing stored (use --valid-only to store the {valid} valid lines)"
        )
        return 1
    else:
        print(f"stored {report.stored} line(s); skipped {len(report.errors)} with errors")
    return 0


def cmd_manage(args) -> int:
    _django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["port2port manage", *args.rest])
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="port2port", description="Port 2 Port Security Platform")
    sub = root.add_subparsers(dest="command", required=True)

    def add_serve_args(p):
        p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        p.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_CONCURRENCY", "1")),
            help="worker processes (default: WEB_CONCURRENCY or 1)",
        )

    p = sub.add_parser(
        "demo", help="migrate, seed the Belgian demo network, print logins and serve"
    )
    add_serve_args(p)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("serve", help="serve the platform with uvicorn")
    add_serve_args(p)
    p.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="create or update the database").set_defaults(func=cmd_migrate)
    sub.add_parser("seed-demo", help="seed the demo network (idempotent)").set_defaults(
        func=cmd_seed_demo
    )
    sub.add_parser("compilemessages", help="compile the translation catalogues").set_defaults(
        func=cmd_compilemessages
    )
    p = sub.add_parser("demo-code", help="print the current TOTP code of a demo account")
    p.add_argument("username")
    p.set_defaults(func=cmd_demo_code)
    p = sub.add_parser(
        "createadmin",
        help="create a platform admin (password from PORT2PORT_ADMIN_PASSWORD or prompt)",
    )
    p.add_argument("--username", required=True)
    p.add_argument("--email")
    p.set_defaults(func=cmd_createadmin)
    token = sub.add_parser("token", help="API tokens").add_subparsers(
        dest="token_command", required=True
    )
    p = token.add_parser("create", help="issue an organisation API token (shown once)")
    p.add_argument("--organisation", required=True, help="the organisation's exact name")
    p.add_argument("--name", required=True)
    p.add_argument("--scope", action="append", required=True, help="e.g. core:person:view (repeat)")
    p.add_argument("--days", type=int, default=365, help="validity in days (0: no expiry)")
    p.set_defaults(func=cmd_token_create)
    audit = sub.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True
    )
    audit.add_parser("verify", help="check the hash chain").set_defaults(func=cmd_audit_verify)
    sharing = sub.add_parser("sharing", help="knowledge sharing").add_subparsers(
        dest="sharing_command", required=True
    )
    p = sharing.add_parser(
        "import", help="import a STIX 2.1 bundle or a MISP event for an organisation"
    )
    p.add_argument("file")
    p.add_argument("--format", choices=["stix", "misp"], required=True)
    p.add_argument("--org", required=True, help="the organisation's name or short name")
    p.add_argument("--tlp", choices=["clear", "green", "amber", "amber+strict", "red"])
    p.add_argument(
        "--distribution", default="platform", choices=["organisation", "port_community", "platform"]
    )
    p.set_defaults(func=cmd_sharing_import)
    p = sharing.add_parser(
        "export", help="export what an organisation may see as a STIX 2.1 bundle"
    )
    p.add_argument("--format", choices=["stix"], default="stix")
    p.add_argument("--org", required=True)
    p.add_argument("--out", required=True, help="a file, or - for standard output")
    p.set_defaults(func=cmd_sharing_export)
    sharing.add_parser("digest", help="send the daily e-mail digests").set_defaults(
        func=cmd_sharing_digest
    )
    access = sub.add_parser("access", help="gate access").add_subparsers(
        dest="access_command", required=True
    )
    p = access.add_parser("decide", help="ask the decision of a gate for a badge or a plate")
    p.add_argument("--gate", required=True)
    credential = p.add_mutually_exclusive_group(required=True)
    credential.add_argument("--badge")
    credential.add_argument("--plate")
    credential.add_argument("--identity", help="an itsme / OpenID subject verified at the gate")
    p.add_argument("--direction", choices=["in", "out"], default="in")
    p.add_argument("--at", help="ISO time, e.g. 2026-11-21T07:42 (default: now)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_access_decide)
    p = access.add_parser(
        "import", help="import people, badges, bans, verifications, extracts or rights from CSV"
    )
    p.add_argument(
        "kind", choices=["people", "badges", "bans", "verifications", "extracts", "rights"]
    )
    p.add_argument("file")
    p.add_argument("--org", required=True, help="the organisation the import acts for")
    p.add_argument("--dry-run", action="store_true", help="check every line, store nothing")
    p.add_argument(
        "--valid-only", action="store_true", help="store the valid lines even if others are wrong"
    )
    p.set_defaults(func=cmd_access_import)
    p = access.add_parser("device", help="register a gate controller and print its token once")
    p.add_argument("--gate", required=True)
    p.add_argument("--name", required=True)
    p.set_defaults(func=cmd_access_device)
    access.add_parser(
        "replay-journal",
        help="store the decisions a stopped or killed process left in its journal",
    ).set_defaults(func=cmd_access_replay)
    reports = sub.add_parser("reports", help="anonymous reporting").add_subparsers(
        dest="reports_command", required=True
    )
    reports.add_parser(
        "retention",
        help="warn teams 72 hours ahead and delete reports past their channel's period (run hourly)",
    ).set_defaults(func=cmd_reports_retention)
    p = sub.add_parser("manage", help="run a Django management command")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
