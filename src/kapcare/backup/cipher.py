"""The one place backups are encrypted: AES-256-GCM (the `cryptography` package) over chunks of
the snapshot, in the STREAM construction, so a backup of any size is sealed and opened without
holding it whole, and any change is refused:

- each chunk's nonce is a random prefix of the file, the chunk's number and a last-chunk flag,
  so chunks cannot be reordered, dropped or repeated, and a file cut short lacks its last one;
- the file's header (what the snapshot is, which key sealed it) is authenticated with every
  chunk, so it cannot be changed either.

The key is derived from the installation's backup key (`settings.KAPCARE_BACKUP_KEY`), which
is never written into a backup.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CHUNK_BYTES = 1 << 20
NONCE_PREFIX_BYTES = 7  # + 4 bytes of chunk number + 1 byte last flag = GCM's 12
_LENGTH = struct.Struct(">I")


class CannotDecrypt(Exception):
    """Wrong key, or a file that was changed or cut short."""


def derive_key(secret: str) -> bytes:
    """The AES-256 key for a backup secret (a separate key from anything else it keys)."""
    return hmac.new(secret.encode(), b"kapcare backup AES-256-GCM v1", hashlib.sha256).digest()


def new_nonce_prefix() -> bytes:
    return os.urandom(NONCE_PREFIX_BYTES)


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", number) + (b"\x01" if last else b"\x00")


def _rechunk(pieces: Iterable[bytes]) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        while len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer[:CHUNK_BYTES])
            del buffer[:CHUNK_BYTES]
    yield bytes(buffer)  # the last chunk, possibly empty, so every file has one


def encrypt(
    key: bytes, prefix: bytes, header: bytes, pieces: Iterable[bytes], out: BinaryIO
) -> None:
    """Write `pieces` to `out` as sealed chunks, each authenticating `header` too."""
    aead = AESGCM(key)
    chunks = _rechunk(pieces)
    current = next(chunks)
    for number in range(2**32):
        following = next(chunks, None)
        sealed = aead.encrypt(_nonce(prefix, number, following is None), current, header)
        out.write(_LENGTH.pack(len(sealed)) + sealed)
        if following is None:
            return
        current = following
    raise ValueError("A backup of more than 2**32 chunks cannot be sealed.")


def decrypt(key: bytes, prefix: bytes, header: bytes, source: BinaryIO) -> Iterator[bytes]:
    """Yield the plaintext chunk by chunk; CannotDecrypt, at the first chunk that does not
    open, or at the end when the last chunk is missing or followed by more."""
    aead = AESGCM(key)
    number, finished = 0, False
    while True:
        length = source.read(_LENGTH.size)
        if not length:
            break
        if finished:
            raise CannotDecrypt("the backup has data after its last chunk")
        if len(length) < _LENGTH.size:
            raise CannotDecrypt("the backup is cut short: its last chunk is incomplete")
        expected = _LENGTH.unpack(length)[0]
        sealed = source.read(expected)
        if len(sealed) < expected:
            raise CannotDecrypt("the backup is cut short: its last chunk is incomplete")
        for last in (False, True):
            try:
                plain = aead.decrypt(_nonce(prefix, number, last), sealed, header)
            except InvalidTag:
                continue
            finished = last
            break
        else:
            raise CannotDecrypt(
                "it does not open with this backup key (a different key, or the file was "
                f"changed: chunk {number})"
            )
        number += 1
        yield plain
    if not finished:
        raise CannotDecrypt("the backup is cut short: its last chunk is missing")
