from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kapcare.audit.selectors import verify_chain


class Command(BaseCommand):
    help = "Verify the audit chain; exit non-zero naming the first bad entry."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.intact:
            raise CommandError(f"audit chain {report.describe()}")
        self.stdout.write(f"audit chain {report.describe()}")
