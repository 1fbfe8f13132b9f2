"""accounts.Session (sessions that know their user), existing sessions copied into
it, and the triggers that end credentials when an account changes
(accounts/credential_triggers.py says which and why)."""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

from accounts import credential_triggers


def create_triggers(apps, schema_editor):
    credential_triggers.install(schema_editor.connection, apps)


def drop_triggers(apps, schema_editor):
    credential_triggers.remove(schema_editor.connection, apps)


def copy_sessions(apps, schema_editor):
    """Everyone stays signed in across the switch of session table."""
    from django.contrib.sessions.backends.db import SessionStore as DjangoStore

    from accounts.sessions import user_id_of

    old = apps.get_model("sessions", "Session")
    new = apps.get_model("accounts", "Session")
    user_ids = set(
        apps.get_model(settings.AUTH_USER_MODEL).objects.values_list("pk", flat=True)
    )
    decoder = DjangoStore()
    batch = []
    for row in old.objects.iterator(chunk_size=1000):
        user_id = user_id_of(decoder.decode(row.session_data))
        batch.append(
            new(
                session_key=row.session_key,
                session_data=row.session_data,
                expire_date=row.expire_date,
                user_id=user_id if user_id in user_ids else None,
            )
        )
        if len(batch) >= 1000:
            new.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    new.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        # After the user table's last migration: SQLite rebuilds a table (and drops
        # its triggers) when a migration alters it.
        ("auth", "0012_alter_user_first_name_max_length"),
        ("sessions", "0001_initial"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="CredentialChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("user_id", models.IntegerField()),
                (
                    "at",
                    models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(),
                        db_index=True,
                    ),
                ),
            ],
            options={
                "db_table": "accounts_credential_change",
            },
        ),
        migrations.CreateModel(
            name="Session",
            fields=[
                (
                    "session_key",
                    models.CharField(
                        max_length=40,
                        primary_key=True,
                        serialize=False,
                        verbose_name="session key",
                    ),
                ),
                ("session_data", models.TextField(verbose_name="session data")),
                (
                    "expire_date",
                    models.DateTimeField(db_index=True, verbose_name="expire date"),
                ),
                (
                    "user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "session",
                "verbose_name_plural": "sessions",
                "db_table": "accounts_session",
                "abstract": False,
            },
        ),
        migrations.RunPython(copy_sessions, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
