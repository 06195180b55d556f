"""Taking and restoring snapshots (see the package's docstring). A backup file is:

    MAGIC | header length (4 bytes) | header (JSON) | sealed chunks (kapcare.backup.cipher)

where the header names the engine, the time, the backup key's id and the nonce prefix; the
magic, length and header are authenticated with every chunk.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from kapcare.audit import chain
from kapcare.audit.models import Action
from kapcare.audit.services import Actor, record_event
from kapcare.backup import cipher

MAGIC = b"KAPCARE-BACKUP\x00\x01"
FORMAT = 1
_LENGTH = struct.Struct(">I")
_READ_BYTES = 1 << 20
ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


class BackupError(Exception):
    """What the operator is told, and nothing was written (or restored)."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    engine: str
    created_at: str
    key_id: str
    size_bytes: int


@dataclass(frozen=True)
class Restored:
    info: BackupInfo
    chains: dict[str, chain.ChainReport]  # by chain name, after the restore


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in ENGINES:
        raise BackupError(f"kapcare backs up SQLite and PostgreSQL, not {vendor}.")
    return vendor


def _backup_key() -> tuple[bytes, str]:
    secret = settings.KAPCARE_BACKUP_KEY
    return cipher.derive_key(secret), chain.key_id_of(secret)


# --- SQLite ----------------------------------------------------------------------------------


def _sqlite_snapshot() -> Iterator[bytes]:
    """The online backup API, in one step: a consistent copy while others go on writing. From
    a connection of its own, so it copies what is committed, whatever this one is doing."""
    source = sqlite3.connect(connection.settings_dict["NAME"], timeout=20)
    copy = sqlite3.connect(":memory:")
    try:
        source.backup(copy)
        image = bytearray(copy.serialize())
    finally:
        copy.close()
        source.close()
    # The file header's read/write versions say WAL (2); an image to load into memory must say
    # rollback journal (1). The restored file takes the installation's journal mode again.
    image[18:20] = b"\x01\x01"
    yield bytes(image)


def _sqlite_restore(plain: Iterator[bytes]) -> None:
    image = b"".join(plain)
    loaded = sqlite3.connect(":memory:")
    try:
        loaded.deserialize(image)
        connection.ensure_connection()
        loaded.backup(connection.connection)
    finally:
        loaded.close()


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    """The client program, checked against the server: pg_dump refuses a newer server."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: PostgreSQL backups need PostgreSQL's client programs "
            "(Debian: apt-get install postgresql-client), of the server's major version or newer."
        )
    version = subprocess.run(  # noqa: S603  (a fixed argument list, no shell)
        [path, "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"\)\s*(\d+)", version)
    client_major = int(found.group(1)) if found else 0
    connection.ensure_connection()
    server_major = connection.pg_version // 10000  # type: ignore[attr-defined]  # PostgreSQL only
    if client_major < server_major:
        raise BackupError(
            f"{name} is version {client_major}, older than the PostgreSQL {server_major} server: "
            f"install postgresql-client-{server_major}."
        )
    return path


def _pg_environment() -> dict[str, str]:
    """Where and as whom to connect, in libpq's variables: no password on a command line."""
    config = connection.settings_dict
    given = {
        "PGHOST": config.get("HOST"),
        "PGPORT": config.get("PORT"),
        "PGUSER": config.get("USER"),
        "PGPASSWORD": config.get("PASSWORD"),
        "PGDATABASE": config.get("NAME"),
    }
    return {**os.environ, **{name: str(value) for name, value in given.items() if value}}


def _failed(name: str, errors: IO[bytes]) -> BackupError:
    errors.seek(0)
    return BackupError(f"{name} failed: {errors.read().decode(errors='replace').strip()}")


def _pg_dump() -> Iterator[bytes]:
    program = _pg_tool("pg_dump")
    with tempfile.TemporaryFile() as errors:
        with subprocess.Popen(  # noqa: S603  (a fixed argument list, no shell)
            [program, "--format=custom", "--no-owner", "--no-privileges"],
            stdout=subprocess.PIPE,
            stderr=errors,
            env=_pg_environment(),
        ) as dump:
            assert dump.stdout is not None  # PIPE above
            yield from iter(lambda: dump.stdout.read(_READ_BYTES), b"")  # type: ignore[union-attr]  # PIPE above
        if dump.returncode != 0:
            raise _failed("pg_dump", errors)


def _pg_restore(plain: Iterator[bytes]) -> None:
    program = _pg_tool("pg_restore")
    with tempfile.TemporaryFile() as errors:
        with subprocess.Popen(  # noqa: S603  (a fixed argument list, no shell)
            [
                program,
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={connection.settings_dict['NAME']}",
            ],
            stdin=subprocess.PIPE,
            stderr=errors,
            env=_pg_environment(),
        ) as load:
            assert load.stdin is not None  # PIPE above
            with suppress(BrokenPipeError):  # it stopped early: its errors say why
                for piece in plain:
                    load.stdin.write(piece)
            with suppress(BrokenPipeError):
                load.stdin.close()
        if load.returncode != 0:
            raise _failed("pg_restore", errors)


SNAPSHOT = {"sqlite": _sqlite_snapshot, "postgresql": _pg_dump}
LOAD = {"sqlite": _sqlite_restore, "postgresql": _pg_restore}


# --- backup and restore ----------------------------------------------------------------------


def backup(path: Path) -> BackupInfo:
    """Write an encrypted snapshot of the database to `path`, which must not exist yet. Written
    beside it first and moved into place, so `path` is either complete or absent."""
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} exists already: a backup never replaces another.")
    engine = _engine()
    key, key_id = _backup_key()
    # A copy of every record is a disclosure too: logged first, so the backup holds its record.
    record_event(Actor.system("kapcare backup"), Action.READ, f"whole database backed up: {path}")
    prefix = cipher.new_nonce_prefix()
    header = json.dumps(
        {
            "format": FORMAT,
            "engine": engine,
            "created_at": timezone.now().astimezone(UTC).isoformat(timespec="seconds"),
            "key_id": key_id,
            "nonce_prefix": prefix.hex(),
        },
        sort_keys=True,
    ).encode()
    preamble = MAGIC + _LENGTH.pack(len(header)) + header
    draft = path.with_name(f".{path.name}.partial")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(preamble)
            cipher.encrypt(key, prefix, preamble, SNAPSHOT[engine](), out)
            out.flush()
            os.fsync(out.fileno())
        draft.rename(path)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
    return _info(path, json.loads(header))


def _info(path: Path, header: dict[str, Any]) -> BackupInfo:
    return BackupInfo(
        path, header["engine"], header["created_at"], header["key_id"], path.stat().st_size
    )


def _preamble(path: Path, source: IO[bytes]) -> tuple[bytes, dict[str, Any]]:
    """Read the magic, length and header; the file is left at its first chunk."""
    magic = source.read(len(MAGIC))
    length = source.read(_LENGTH.size)
    if magic != MAGIC or len(length) != _LENGTH.size:
        raise BackupError(f"{path} is not a kapcare backup.")
    header_bytes = source.read(_LENGTH.unpack(length)[0])
    try:
        header = json.loads(header_bytes)
    except ValueError:
        raise BackupError(f"{path} is not a kapcare backup (its header is unreadable).") from None
    return magic + length + header_bytes, header


def _plaintext(path: Path, key: bytes) -> Iterator[bytes]:
    with path.open("rb") as source:
        preamble, header = _preamble(path, source)
        try:
            yield from cipher.decrypt(key, bytes.fromhex(header["nonce_prefix"]), preamble, source)
        except cipher.CannotDecrypt as error:
            raise BackupError(f"{path} cannot be restored: {error}.") from None


def restore(path: Path) -> Restored:
    """Restore the backup at `path` into the configured database, which must be empty; then
    verify and anchor every registered chain (a start checkpoint each)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file.")
    with path.open("rb") as source:
        _bytes, header = _preamble(path, source)
    key, key_id = _backup_key()
    if header.get("key_id") != key_id:
        raise BackupError(
            f"{path} was sealed with backup key {header.get('key_id')}, and this installation's "
            f"is {key_id}: set KAPCARE_BACKUP_KEY, or put the clinic's backup key in the key file."
        )
    for _chunk in _plaintext(path, key):
        pass  # every chunk opens (so the header is as written), none is missing
    engine = _engine()
    if header["engine"] != engine:
        raise BackupError(
            f"{path} is a {ENGINES[header['engine']]} backup; this installation's database is "
            f"{ENGINES[engine]}."
        )
    tables = connection.introspection.table_names()
    if tables:
        raise BackupError(
            f"The database is not empty ({len(tables)} tables): restore only into an empty "
            "database (a new SQLite file, or a newly created PostgreSQL database)."
        )
    LOAD[engine](_plaintext(path, key))
    reports = {}
    for table in chain.registered():
        try:
            chain.write_checkpoint(table, kind=chain.START)
            reports[table.name] = chain.verify(table)
        except chain.ChainBroken as broken:
            reports[table.name] = broken.report
    return Restored(_info(path, header), reports)
