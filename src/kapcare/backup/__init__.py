"""Encrypted backups of the whole database, and restoring one into an empty database.

`kapcare backup PATH` takes a consistent snapshot: SQLite's online backup API (the database
stays in use meanwhile), or `pg_dump` for PostgreSQL (one transaction's snapshot, in its custom
format). The snapshot is sealed with AES-256-GCM (`kapcare.backup.cipher`) under the backup key
(`KAPCARE_BACKUP_KEY`, or the file `var/backup_key`), and nothing else goes into the file: the
audit keys, the backup key and the checkpoint file stay outside it, so whoever holds a backup
holds neither the means to open it nor to re-sign the audit chain.

`kapcare restore PATH` checks the whole file opens before it writes anything, restores it into
an empty database (it refuses one that has any table), verifies every registered chain
(`kapcare.audit.chain.registered`) and anchors each with a signed start checkpoint: the
restored database begins its own series of checkpoints.

README "Backup and restore" gives the commands and the restore drill.
"""

from kapcare.backup.snapshot import BackupError, BackupInfo, backup, restore

__all__ = ["BackupError", "BackupInfo", "backup", "restore"]
