"""The look-alike key of every username (accounts.models.UsernameSkeleton), filled
for the users that exist already."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill_existing_keys(apps, schema_editor):
    from accounts.confusables import username_key

    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    UsernameSkeleton = apps.get_model("accounts", "UsernameSkeleton")
    UsernameSkeleton.objects.bulk_create(
        UsernameSkeleton(user_id=user_id, skeleton=username_key(username))
        for user_id, username in User.objects.values_list("pk", "username").iterator()
    )


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("accounts", "0001_sessions_and_credential_triggers"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsernameSkeleton",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="username_skeleton",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("skeleton", models.CharField(db_index=True, max_length=600)),
            ],
        ),
        migrations.RunPython(fill_existing_keys, migrations.RunPython.noop),
    ]
