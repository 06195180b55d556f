"""The `kapcare` command: run, set up and look after a kapcare installation."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence

DEFAULT_PORT = 8000


def _port(value: str | None) -> int:
    return int(value) if value else int(os.environ.get("KAPCARE_PORT", DEFAULT_PORT))


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kapcare.config.settings")
    import django

    django.setup()


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _exec_gunicorn(port: int, workers: int) -> int:
    host = os.environ.get("KAPCARE_HOST", "127.0.0.1")
    argv = [
        sys.executable, "-m", "gunicorn", "kapcare.config.wsgi:application",
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        "--threads", "4",
        "--access-logfile", "-",
        "--forwarded-allow-ips", os.environ.get("KAPCARE_FORWARDED_ALLOW_IPS", "127.0.0.1"),
    ]  # fmt: skip
    sys.stdout.flush()
    os.execv(sys.executable, argv)  # noqa: S606  (fixed argv, no shell: replaces this process)
    return 0  # pragma: no cover - execv does not return


def set_demo_base_url(port: int) -> None:
    """Links in the demo's emails point at the port it serves on (the worker it starts reads
    the same environment), unless KAPCARE_BASE_URL says otherwise."""
    host = os.environ.get("KAPCARE_HOST", "127.0.0.1")
    os.environ.setdefault("KAPCARE_BASE_URL", f"http://{host}:{port}")


def cmd_demo(args: argparse.Namespace) -> int:
    os.environ["KAPCARE_DEMO"] = "1"
    _setup_django()
    from kapcare.demodata.clinic import (
        DEMO_PASSWORD,
        DEMO_PATIENT_LOGIN,
        DEMO_STAFF,
        load_demo_clinic,
    )

    _migrate()
    created = load_demo_clinic()
    port = _port(args.port)
    set_demo_base_url(port)
    print("kapcare demo clinic — every person and record in it is synthetic.")
    print("Loaded the demo clinic." if created else "The demo clinic is already loaded.")
    print(f"Open http://127.0.0.1:{port}/ and sign in with password '{DEMO_PASSWORD}' as:")
    for login in (*DEMO_STAFF, DEMO_PATIENT_LOGIN):
        print(f"  {login.email:<26} {login.role}")
    # The background worker (invitations, alert emails) runs beside the server; emails go to
    # the console in the demo. It shares the terminal's process group, so Ctrl-C stops both.
    subprocess.Popen([sys.executable, "-m", "kapcare.cli", "worker"])
    return _exec_gunicorn(port, workers=2)


def cmd_serve(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    workers = args.workers or int(os.environ.get("KAPCARE_WORKERS", (os.cpu_count() or 1) * 2 + 1))
    return _exec_gunicorn(_port(args.port), workers)


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup_django()
    _migrate()
    print("Database is up to date.")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    _setup_django()
    from kapcare.accounts.models import User, normalise_email
    from kapcare.accounts.services import create_api_token
    from kapcare.audit.services import Actor
    from kapcare.errors import FieldInvalid

    user = User.objects.filter(email=normalise_email(args.email), is_active=True).first()
    if user is None:
        print(f"email: no active user {args.email!r}", file=sys.stderr)
        return 2
    try:
        _token, raw = create_api_token(Actor.system("kapcare token create"), user, args.name)
    except FieldInvalid as refused:
        for problem in refused.problems:
            print(f"{problem.field}: {problem.message}", file=sys.stderr)
        return 2
    print(raw)
    print(f"(API token for {user.email}, role {user.role}; shown only this once)", file=sys.stderr)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup_django()
    from kapcare.jobs.services import work

    ran = work(once=args.once)
    if args.once:
        print(f"Ran {ran} background jobs.")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    _setup_django()
    from tqdm import tqdm

    from kapcare.assessments.seed import seed_assessments
    from kapcare.demodata.seed import refresh_planner_statistics, seed_patients

    _migrate()
    with tqdm(total=args.patients, unit="patients", disable=args.quiet) as bar:
        made = seed_patients(args.patients, seed=args.seed, progress=bar.update)
    assessments = 0
    if args.assessments_per_patient:
        total = made * args.assessments_per_patient
        with tqdm(total=total, unit="assessments", disable=args.quiet) as bar:
            assessments = seed_assessments(
                args.assessments_per_patient, seed=args.seed, progress=bar.update
            )
    refresh_planner_statistics()
    print(f"Seeded {made} synthetic patients and {assessments} assessments.")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    _setup_django()
    from kapcare.audit.selectors import verify_chain

    report = verify_chain()
    if not report.intact:
        print(f"audit chain {report.describe()}", file=sys.stderr)
        return 1
    print(f"audit chain {report.describe()}")
    return 0


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    _setup_django()
    from kapcare.audit import chain
    from kapcare.audit.services import AUDIT_CHAIN

    try:
        checkpoint = chain.write_checkpoint(AUDIT_CHAIN)
    except chain.ChainBroken as broken:
        print(f"not checkpointed: audit chain {broken.report.describe()}", file=sys.stderr)
        return 1
    print(
        f"checkpoint: {checkpoint.entries} entries up to entry {checkpoint.last_id}, "
        f"key {checkpoint.key_id}, appended to {chain.checkpoint_file()}"
    )
    return 0


def cmd_audit_rotate_key(args: argparse.Namespace) -> int:
    _setup_django()
    from kapcare.audit.chain import KeyRotationRefused, rotate_key

    try:
        new_id, where = rotate_key()
    except KeyRotationRefused as refused:
        print(str(refused), file=sys.stderr)
        return 1
    print(f"new audit key {new_id} added to {where}; restart kapcare (server and worker)")
    return 0


def cmd_ledger(args: argparse.Namespace) -> int:
    _setup_django()
    from kapcare.ledger.commands import verify

    return verify()


def cmd_backup(args: argparse.Namespace) -> int:
    _setup_django()
    from kapcare.backup import BackupError, backup

    try:
        info = backup(args.path)
    except BackupError as error:
        print(f"backup not written: {error}", file=sys.stderr)
        return 1
    print(
        f"backup written: {info.path} ({info.engine}, {info.size_bytes} bytes, sealed with "
        f"backup key {info.key_id}). Keep the backup key, and the audit keys, apart from it."
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    _setup_django()
    from kapcare.backup import BackupError, restore

    try:
        restored = restore(args.path)
    except BackupError as error:
        print(f"not restored: {error}", file=sys.stderr)
        return 1
    info = restored.info
    print(f"restored {info.path} (a {info.engine} backup of {info.created_at})")
    for name, report in restored.chains.items():
        print(f"{name} chain {report.describe()}", file=sys.stdout if report.intact else sys.stderr)
    return 0 if all(report.intact for report in restored.chains.values()) else 1


def cmd_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kapcare.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kapcare manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kapcare", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="migrate, load the demo clinic if absent, and serve it")
    demo.add_argument("--port", help=f"port (default $KAPCARE_PORT or {DEFAULT_PORT})")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="production server (gunicorn)")
    serve.add_argument("--port", help=f"port (default $KAPCARE_PORT or {DEFAULT_PORT})")
    serve.add_argument("--workers", type=int, help="worker processes (default 2 x cores + 1)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="create or update the database").set_defaults(func=cmd_migrate)

    token = sub.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a token for EMAIL and print it once")
    create.add_argument("email")
    create.add_argument("--name", default="command line", help="what the token is for")
    create.set_defaults(func=cmd_token)

    worker = sub.add_parser(
        "worker", help="background worker: emails and scheduled invitations (survives restarts)"
    )
    worker.add_argument("--once", action="store_true", help="do the ready jobs once, then exit")
    worker.set_defaults(func=cmd_worker)

    seed = sub.add_parser("seed", help="insert synthetic patients at scale (benchmarks)")
    seed.add_argument("--patients", type=int, required=True)
    seed.add_argument(
        "--assessments-per-patient", type=int, default=20, help="scored assessments each"
    )
    seed.add_argument("--seed", type=int, default=1, help="random seed")
    seed.add_argument("--quiet", action="store_true", help="no progress bar")
    seed.set_defaults(func=cmd_seed)

    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser(
        "verify", help="check the chain against the key, the head and the checkpoints"
    ).set_defaults(func=cmd_audit)
    audit_sub.add_parser(
        "checkpoint", help="append the signed chain head to the checkpoint file"
    ).set_defaults(func=cmd_audit_checkpoint)
    audit_sub.add_parser(
        "rotate-key", help="add a new audit key to the key file (older keys stay)"
    ).set_defaults(func=cmd_audit_rotate_key)

    ledger = sub.add_parser("ledger", help="the controlled-substance ledger")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    ledger_sub.add_parser("verify", help="check the ledger's hash chain and balances").set_defaults(
        func=cmd_ledger
    )

    backup = sub.add_parser("backup", help="write an encrypted snapshot of the database")
    backup.add_argument("path", help="the backup file to write (never an existing one)")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="restore a backup into an empty database")
    restore.add_argument("path", help="a file written by `kapcare backup`")
    restore.set_defaults(func=cmd_restore)

    # Listed for --help; main() hands their arguments on before this parser runs.
    sub.add_parser("pk", help="pharmacokinetic simulator (education and planning)")
    sub.add_parser("manage", help="Django management commands")
    return parser


def _pk(argv: list[str]) -> int:
    from kapcare.pk_report import main as pk_main

    return pk_main(argv)


# Commands that hand all their arguments to another parser (argparse's REMAINDER does not
# take options that come first, such as `kapcare pk --route iv`).
PASS_THROUGH = {"pk": _pk, "manage": lambda rest: cmd_manage(argparse.Namespace(rest=rest))}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in PASS_THROUGH:
        return int(PASS_THROUGH[argv[0]](argv[1:]))
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
