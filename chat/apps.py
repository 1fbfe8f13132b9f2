"""App configuration for the chat app."""

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        import chat.api.schema  # noqa: F401 - registers its drf-spectacular extension
        from chat.attachments import attachment_file_delete
        from chat.models import Attachment

        post_delete.connect(
            attachment_file_delete,
            sender=Attachment,
            dispatch_uid="chat.attachment_file_delete",
        )
