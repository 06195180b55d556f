from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kapcare.audit.selectors import verify_chain


class Command(BaseCommand):
    help = "Walk the audit hash chain; exit non-zero naming the first broken entry."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.intact:
            raise CommandError(
                f"audit chain broken at entry {report.first_broken_id}: {report.problem} "
                f"({report.entries_checked} entries before it are intact)"
            )
        self.stdout.write(f"audit chain intact: {report.entries_checked} entries verified")
