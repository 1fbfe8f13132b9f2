"""`manage.py chat_delete_stale_uploads`: delete uploads no message took in time.

An upload (POST /api/v1/rooms/<slug>/attachments/) waits for a message to name it;
one still unattached after CHAT_UNATTACHED_UPLOAD_HOURS is garbage: its row and its
stored file are deleted. Run it from cron, e.g. hourly; it is safe while people send.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand

from chat import attachments


class Command(BaseCommand):
    help = __doc__.splitlines()[0].split(": ", 1)[1]

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours",
            type=float,
            default=None,
            help="age of the uploads to delete (default CHAT_UNATTACHED_UPLOAD_HOURS)",
        )

    def handle(self, *args, hours=None, **options):
        older_than = timedelta(hours=hours) if hours is not None else None
        deleted = attachments.attachments_delete_stale(older_than=older_than)
        self.stdout.write(f"deleted {deleted} stale upload(s)")
