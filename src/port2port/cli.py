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
    # The alarms' e-mails go to files (var/mail/), not over the console the demo prints to.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    cmd_compilemessages(args)
    cmd_migrate(args)
    cmd_seed_demo(args)
    _print_logins()
    simulator = _start_simulator(args.host, args.port, rate=args.simulate)
    try:
        return cmd_serve(args)
    finally:
        if simulator is not None:
            simulator.terminate()


def _start_simulator(host: str, port: int, *, rate: float):
    """The demo's device traffic, posted to the server once it answers (a process of its own)."""
    import subprocess
    import threading

    if rate <= 0:
        return None
    print(
        f"Device simulator: {rate:g} messages/s into the control room (--simulate 0 turns it off);"
        " alarm e-mails are written to var/mail/"
    )
    holder: dict = {}

    def start() -> None:
        import socket
        import time

        for _ in range(300):
            try:
                with socket.create_connection((host, port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        holder["process"] = subprocess.Popen(  # noqa: S603 (our own command, fixed arguments)
            [
                sys.executable,
                "-m",
                "port2port.cli",
                "simulate",
                "--rate",
                str(rate),
                "--url",
                f"http://{host}:{port}",
                "--rotate-tokens",
            ],
            stdout=subprocess.DEVNULL,
        )

    thread = threading.Thread(target=start, name="demo-simulator", daemon=True)
    thread.start()

    class Handle:
        def terminate(self) -> None:
            process = holder.get("process")
            if process is not None:
                process.terminate()

    return Handle()


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
        timeout_graceful_shutdown=5,  # live control rooms keep their streams open
    )
    server = uvicorn.Server(config=config)
    if workers == 1:  # several workers: run `port2port detection clock` once, beside them
        from port2port.detection.jobs import start_background

        start_background()
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


def cmd_ingest_mqtt(args) -> int:
    _django()
    from port2port.detection.mqtt import (
        DEFAULT_TOPICS,
        Broker,
        ConfigError,
        Subscription,
        Worker,
    )

    try:
        broker = Broker.from_url(args.broker)
        subscriptions = [Subscription.parse(t) for t in args.topic or DEFAULT_TOPICS]
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    worker = Worker(
        broker=broker,
        subscriptions=subscriptions,
        client_id=args.client_id,
        device=args.device or "",
        batch=args.batch,
    )
    return worker.run()


FILE_BATCH_LINES = 1000
MAX_REJECTIONS_SHOWN = 50


def cmd_ingest_file(args) -> int:
    import re

    _django()
    from port2port.detection.ingest import FORMATS, Message, Outcome, Pipeline, late_seconds

    if args.format not in FORMATS:
        print(
            f"error: unknown format “{args.format}”; one of: {', '.join(FORMATS)}", file=sys.stderr
        )
        return 2
    if args.format == "ais" and not args.device:
        print(
            "error: AIS sentences name no device: give the receiver with --device", file=sys.stderr
        )
        return 2
    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    pieces = _file_pieces(data, args.format)
    pipeline = Pipeline()
    outcome = Outcome()
    channel = f"file:{path.name}"
    source = {"default_device": args.device or "", "sender": f"port2port ingest file {path.name}"}
    batch: list = []
    lines = 0
    for number, payload, count in pieces:
        batch.append(Message(payload, f"{channel}:{number}"))
        lines += count
        if lines >= FILE_BATCH_LINES:
            outcome.add(pipeline.ingest(args.format, batch, **source))
            batch, lines = [], 0
    if batch:
        outcome.add(pipeline.ingest(args.format, batch, **source))
    pipeline.flush()
    rejected = outcome.rejected
    print(f"accepted {outcome.accepted}, duplicates {outcome.duplicates}, rejected {len(rejected)}")
    if outcome.late:
        print(
            f"  {outcome.late} of the accepted events are older than the rules look at "
            f"({late_seconds() / 60:.0f} minutes): stored, but they raised no alarm"
        )
    relative = re.compile(r"^line (\d+): ")
    for where, reason in rejected[:MAX_REJECTIONS_SHOWN]:
        number = int(where.rsplit(":", 1)[1])
        inner = relative.match(reason)  # AIS names the line inside the message
        if inner:
            number, reason = number + int(inner.group(1)) - 1, reason[inner.end() :]
        print(f"  line {number}: {reason}")
    if len(rejected) > MAX_REJECTIONS_SHOWN:
        print(f"  … and {len(rejected) - MAX_REJECTIONS_SHOWN} more")
    return 1 if rejected else 0


def _file_pieces(data: bytes, fmt: str) -> list[tuple[int, bytes, int]]:
    """(first line number, payload, lines) of each message of a file: one JSON value per line
    (or the whole file when it is one JSON value over several lines); for AIS one sentence per
    line, the parts of a multi-part message together."""
    import codecs
    import json

    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    numbered = [(n, line) for n, line in enumerate(data.splitlines(), start=1) if line.strip()]
    if not numbered:
        return []
    if fmt == "ais":
        return _ais_pieces(numbered)
    if len(numbered) > 1:
        try:
            json.loads(numbered[0][1])
        except ValueError:  # not JSON lines: maybe one value written over several lines
            try:
                json.loads(data)
            except ValueError:
                pass
            else:
                return [(numbered[0][0], data, len(numbered))]
    return [(n, line, 1) for n, line in numbered]


def _ais_pieces(numbered: list) -> list[tuple[int, bytes, int]]:
    """Consecutive lines that are parts of one message (`!AIVDM,count,number,seq,...`) together;
    the adapter checks everything else."""
    pieces: list = []
    group: list = []
    for number, line in numbered:
        text = line.strip()
        if text.startswith(b"\\") and text.count(b"\\") >= 2:  # an NMEA 4.10 tag block
            text = text.rsplit(b"\\", 1)[1]
        fields = text.split(b",")
        try:
            count, part = int(fields[1]), int(fields[2])
        except (IndexError, ValueError):
            count = part = 1
        if group and (part == 1 or part != len(group) + 1 or count != group[0][2]):
            pieces.append((group[0][0], b"\n".join(g[1] for g in group), len(group)))
            group = []
        if (part == 1 and count == 1) or not 1 <= part <= count:
            pieces.append((number, line, 1))
            continue
        group.append((number, line, count))
        if part == count:
            pieces.append((group[0][0], b"\n".join(g[1] for g in group), len(group)))
            group = []
    if group:
        pieces.append((group[0][0], b"\n".join(g[1] for g in group), len(group)))
    return pieces


def cmd_simulate(args) -> int:
    _django()
    import random

    from port2port.detection import simulate

    devices, plates, areas, gate_plates = simulate.world_from_database()
    if not devices:
        print(
            "error: no active devices: seed the demo first (port2port seed-demo)", file=sys.stderr
        )
        return 2
    rng = random.Random(args.seed)  # noqa: S311 - demo traffic, not secrets
    traffic = simulate.Traffic(devices, plates, areas, rng, rate=args.rate, gate_plates=gate_plates)
    gateways = None
    try:
        if args.mqtt:
            sender = simulate.MqttSender(args.mqtt)
            where = args.mqtt
        elif args.rotate_tokens:
            sender = simulate.HttpSender(args.url, simulate.device_tokens(d.code for d in devices))
            where = f"{args.url} (a new token for each of the {len(devices)} devices)"
        else:
            gateways = simulate.GatewayTokens(d.code for d in devices)
            sender = simulate.HttpSender(args.url, gateways.tokens)
            where = (
                f"{args.url} (with {len(gateways.issued)} gateway tokens of the devices' owners,"
                " revoked when it stops)"
            )
    except (OSError, ValueError) as exc:
        print(f"error: cannot reach {args.mqtt or args.url}: {exc}", file=sys.stderr)
        return 2
    kinds = sorted({d.kind for d in devices})
    print(
        f"simulating {len(devices)} devices ({', '.join(kinds)}), {len(traffic.vessels)} vessels,"
        f" {args.rate:g} messages/s to {where}; Ctrl+C stops",
        flush=True,
    )
    try:
        simulate.run(
            traffic, sender, seconds=args.seconds, out=lambda line: print(line, flush=True)
        )
    finally:
        if gateways is not None:
            gateways.revoke()
    return 0


def cmd_detection_clock(args) -> int:
    """Escalations, silent devices and vessels, refused gates, notifications and retention."""
    _django()
    import time

    from port2port.detection.jobs import Clock

    clock = Clock()
    print("detection clock: every 2 s (Ctrl+C stops)", flush=True)
    try:
        while True:
            result = clock.tick()
            if args.once:
                print(result)
                return 0
            time.sleep(2.0)
    except KeyboardInterrupt:
        return 0


def cmd_detection_purge(_args) -> int:
    _django()
    from port2port.detection.jobs import purge

    counts = purge()
    print("deleted: " + (", ".join(f"{k} {v}" for k, v in counts.items()) or "nothing"))
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
    p.add_argument(
        "--simulate",
        type=float,
        default=20.0,
        help="device messages per second of the simulator (0: none)",
    )
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
    ingest = sub.add_parser("ingest", help="detection: device messages in").add_subparsers(
        dest="ingest_command", required=True
    )
    p = ingest.add_parser(
        "mqtt",
        help="subscribe to an MQTT broker and store what the devices send (at least once)",
    )
    p.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt://HOST:PORT")
    p.add_argument(
        "--topic",
        action="append",
        help="TOPIC or TOPIC=FORMAT, e.g. frigate/events, alpr/+=openalpr, $share/ingest/ais/#=ais"
        " (repeat; default: the usual topics of each format)",
    )
    p.add_argument(
        "--client-id",
        default="port2port-ingest",
        help="keep it stable: the broker keeps this id's messages while the worker is down (and"
        " its subscriptions: give workers with other topics other ids)",
    )
    p.add_argument("--device", help="the device of messages that name none (an AIS receiver)")
    p.add_argument("--batch", type=int, default=500, help="messages stored per transaction")
    p.set_defaults(func=cmd_ingest_mqtt)
    p = ingest.add_parser("file", help="store the device messages of a file (JSON lines or NMEA)")
    p.add_argument("file")
    p.add_argument(
        "--format",
        required=True,
        help="frigate, frigate-review, openalpr, platerecognizer, sensor or ais",
    )
    p.add_argument("--device", help="the device of messages that name none (an AIS receiver)")
    p.set_defaults(func=cmd_ingest_file)
    detection = sub.add_parser("detection", help="detection and control room").add_subparsers(
        dest="detection_command", required=True
    )
    p = detection.add_parser(
        "clock",
        help="run escalations, device and vessel silence, refused-gate counts, notifications and"
        " retention every 2 s (beside several web workers or ingest workers)",
    )
    p.add_argument("--once", action="store_true", help="one round, then stop")
    p.set_defaults(func=cmd_detection_clock)
    detection.add_parser(
        "purge", help="delete events past their retention now (the clock does it hourly)"
    ).set_defaults(func=cmd_detection_purge)
    p = sub.add_parser("simulate", help="send realistic device traffic for the demo ports")
    p.add_argument("--rate", type=float, default=10.0, help="background messages per second")
    p.add_argument("--mqtt", help="publish to this broker (mqtt://HOST:PORT) instead of HTTP")
    p.add_argument("--url", default="http://127.0.0.1:8000", help="the platform, for HTTP")
    p.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl+C)")
    p.add_argument("--seed", type=int, help="random seed, for the same traffic every run")
    p.add_argument(
        "--rotate-tokens",
        action="store_true",
        help="over HTTP: send with the devices' own tokens, giving every device a new one (demo"
        " and test platforms only; by default the devices' owners get gateway tokens instead)",
    )
    p.set_defaults(func=cmd_simulate)
    p = sub.add_parser("manage", help="run a Django management command")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
