"""Settings come from the environment: SQLite and in-memory by default, else the
URLs."""

import json
import os
import subprocess
import sys

from django.conf import settings

PROBE = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps([s.DATABASES['default']['ENGINE'], "
    "s.DATABASES['default']['NAME'], s.CHANNEL_LAYERS['default']['BACKEND'], "
    "s.DEBUG, s.ALLOWED_HOSTS]))"
)


def settings_with(env: dict, module: str = "chatsite.settings.local"):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {PROBE}"],
        env={**clean, "DJANGO_SETTINGS_MODULE": module, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result


def test_defaults_are_sqlite_and_the_in_memory_layer():
    engine, name, layer, debug, hosts = json.loads(settings_with({}).stdout)
    assert engine == "django.db.backends.sqlite3"
    assert name.endswith("db.sqlite3")
    assert layer == "channels.layers.InMemoryChannelLayer"
    assert debug is True
    assert hosts == ["127.0.0.1", "localhost"]


def test_urls_select_postgresql_and_channels_redis():
    engine, name, layer, _, _ = json.loads(
        settings_with(
            {
                "DATABASE_URL": "postgres://u@db:5432/chat",
                "REDIS_URL": "redis://r:6379/0",
            }
        ).stdout
    )
    assert (engine, name) == ("django.db.backends.postgresql", "chat")
    assert layer == "channels_redis.pubsub.RedisPubSubChannelLayer"


def test_the_core_redis_layer_can_be_chosen():
    _, _, layer, _, _ = json.loads(
        settings_with(
            {"REDIS_URL": "redis://r:6379/0", "CHAT_CHANNEL_LAYER": "core"}
        ).stdout
    )
    assert layer == "channels_redis.core.RedisChannelLayer"


def test_debug_and_allowed_hosts_are_read():
    _, _, _, debug, hosts = json.loads(
        settings_with(
            {"DEBUG": "false", "ALLOWED_HOSTS": "chat.example, b.example"}
        ).stdout
    )
    assert debug is False
    assert hosts == ["chat.example", "b.example"]


def test_production_refuses_to_start_without_a_secret_key():
    result = settings_with({}, module="chatsite.settings.production")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


LOG_PROBE = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps(s.LOG_FORMAT))"
)


def log_format_with(env: dict, module: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {LOG_PROBE}"],
        env={**clean, "SECRET_KEY": "x", "DJANGO_SETTINGS_MODULE": module, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_logs_are_json_in_production_and_text_elsewhere_by_default():
    production = log_format_with({}, "chatsite.settings.production")
    local = log_format_with({}, "chatsite.settings.local")
    assert json.loads(production.stdout) == "json"
    assert json.loads(local.stdout) == "text"
    told = log_format_with({"LOG_FORMAT": "text"}, "chatsite.settings.production")
    assert json.loads(told.stdout) == "text"


def test_an_unknown_log_format_is_refused_at_startup():
    result = log_format_with({"LOG_FORMAT": "xml"}, "chatsite.settings.local")
    assert result.returncode != 0
    assert "LOG_FORMAT must be one of ['json', 'text']" in result.stderr


def test_a_trusted_proxy_that_is_not_an_address_is_refused_at_startup():
    result = settings_with({"CHAT_TRUSTED_PROXIES": "10.0.0.1, nginx"})
    assert result.returncode != 0
    assert "CHAT_TRUSTED_PROXIES: 'nginx' is not an IP address or CIDR" in result.stderr


def test_the_replaced_proxy_headers_switch_stops_startup_with_what_to_do():
    result = settings_with({"CHAT_PROXY_HEADERS": "1"})
    assert result.returncode != 0
    assert "CHAT_PROXY_HEADERS is replaced by CHAT_TRUSTED_PROXIES" in result.stderr
