"""Settings shared by every environment, read once from the environment.

The defaults make the embedded mode work with nothing set: SQLite and the in-memory
channel layer. `DATABASE_URL` switches to PostgreSQL, `REDIS_URL` to channels-redis.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from chatsite.client_address import parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
# Origins other than the site's own (scheme://host[:port]) whose pages may post forms
# and open sockets here (chatsite.origins). None by default: the site's own origin,
# from the Host header and the scheme, is always allowed.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # daphne first: it replaces runserver with the ASGI one.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI's files served from our own static files: the API docs work offline.
    "drf_spectacular_sidecar",
    "axes",
    "accounts",
    "chat",
]

# Repeated failed logins (form, admin, token endpoint) are locked out per username
# *and* address: an attacker guessing ana's password from one address locks only
# that pair, never ana herself elsewhere, nor anyone else. django-axes.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # WhiteNoise serves collected static files from the ASGI process itself, so the
    # serve command needs no separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Picks each request's language (the switch's cookie, else Accept-Language):
    # after the session, before CommonMiddleware, as Django's docs require.
    "django.middleware.locale.LocaleMiddleware",
    # Before anything looks up a session, a token, a room or a search: a NUL byte
    # names nothing and would only make PostgreSQL refuse the query (a 500). After
    # the locale, so that the refusal is in the request's language.
    "chatsite.nul_bytes.refuse_nul_bytes_middleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the locked-out page (429).
    "axes.middleware.AxesMiddleware",
]

# Django's database sessions in a table that also names the user
# (accounts/models.py): deactivating an account ends its sessions by any path.
SESSION_ENGINE = "accounts.sessions"

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                # LANGUAGE_CODE and LANGUAGES for <html lang> and the language switch.
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_url(url: str) -> dict:
    config = dj_database_url.parse(url)
    if config["ENGINE"] == "django.db.backends.postgresql":
        # A connection pool per process (psycopg_pool, Django 5.1+). Under ASGI every
        # request and every consumer database call may run on another thread, so
        # persistent per-thread connections (CONN_MAX_AGE) would leak; without a
        # pool each call would open a new connection (about 5 ms) and a reconnect
        # storm of hundreds of sockets would queue behind that.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "pool": {
                "min_size": env_int("DATABASE_POOL_MIN", 2),
                "max_size": env_int("DATABASE_POOL_MAX", 10),
                # Seconds a query waits for a connection: when PostgreSQL is down a
                # send fails with a clear `server_error` after this, not much later.
                "timeout": env_int("DATABASE_POOL_TIMEOUT", 3),
            }
        }
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            # IMMEDIATE takes the write lock when a transaction starts, so two
            # writers never both read the room's last message id and then collide.
            "transaction_mode": "IMMEDIATE",
            # WAL lets a reader (another server process, a test) see committed rows
            # while a writer works; the busy timeout waits instead of failing.
            "init_command": "PRAGMA journal_mode=WAL;",
            "timeout": 20,
        }
    return config


DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": database_from_url(DATABASE_URL)}
# Threads that run the synchronous database work of async code (chat.db_threads),
# per process. Each holds at most one pooled connection, so there must be fewer
# threads than DATABASE_POOL_MAX (HTTP requests need connections too). More threads
# buy little under the GIL (docs/benchmarks.md): the hot paths do not use them.
CHAT_DATABASE_THREADS = env_int("CHAT_DATABASE_THREADS", 4)
if (
    DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    and CHAT_DATABASE_THREADS >= DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
):
    raise ImproperlyConfigured(
        "CHAT_DATABASE_THREADS must be below DATABASE_POOL_MAX: each thread may hold "
        "a pooled connection, and requests need some too."
    )
# PostgreSQL connections of each process's event loop (chat.loop_clients), used by
# the socket's hot paths (storing a message) one statement at a time: a few
# suffice, as each statement takes under a millisecond.
DATABASE_ASYNC_POOL_MAX = env_int("DATABASE_ASYNC_POOL_MAX", 4)
DATABASE_ASYNC_POOL_TIMEOUT = env_int("DATABASE_ASYNC_POOL_TIMEOUT", 3)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# Connections each server process may open to Redis, per pool.
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 1000)
# Every process that must see the same groups uses the same prefix; tests set their
# own so that they never meet a running server's groups.
CHANNEL_LAYER_PREFIX = os.environ.get("CHANNEL_LAYER_PREFIX", "chat")
# Which channels-redis layer carries broadcasts between processes: "core" (lists
# and sorted sets in Redis) or "pubsub" (one PUBLISH per broadcast). Either way each
# process has one channel, in the groups of its sockets' rooms and users, and fans
# out to its own sockets in memory (chat.delivery).
CHAT_CHANNEL_LAYER = os.environ.get("CHAT_CHANNEL_LAYER", "pubsub")
if CHAT_CHANNEL_LAYER not in {"pubsub", "core"}:
    raise ImproperlyConfigured("CHAT_CHANNEL_LAYER must be 'pubsub' or 'core'")
REDIS_LAYER_HOSTS = [
    {
        "address": REDIS_URL,
        "max_connections": REDIS_MAX_CONNECTIONS,
        "socket_timeout": 15,
        "socket_connect_timeout": 5,
    }
]
if REDIS_URL and CHAT_CHANNEL_LAYER == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": REDIS_LAYER_HOSTS, "prefix": CHANNEL_LAYER_PREFIX},
        }
    }
elif REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's pool refuses (MaxConnectionsError) rather than waits
                # once its default of 100 connections is busy, which a reconnect
                # storm of a few hundred sockets reaches at once. Redis itself
                # accepts 10,000 clients by default.
                #
                # redis-py 8 reads with a 5 s socket timeout by default, the same as
                # the 5 s BZPOPMIN channels-redis blocks on while a socket is idle:
                # the two race and the loser kills the consumer (redis-py#4091,
                # channels_redis#422). Reads get well past the blocking time.
                "hosts": REDIS_LAYER_HOSTS,
                "prefix": CHANNEL_LAYER_PREFIX,
                # Events waiting for one process's channel before the layer drops
                # new ones (the process then repairs messages from the database).
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 5000),
                # Seconds an undelivered message waits in Redis.
                "expiry": 60,
                # Seconds before a process's group entries expire unless refreshed.
                # A live process re-adds its channel every third of this
                # (chat.delivery.hub), so only a killed one's age out, in 5 minutes.
                "group_expiry": env_int("CHANNEL_LAYER_GROUP_EXPIRY", 300),
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": env_int("CHANNEL_LAYER_CAPACITY", 5000)},
        }
    }

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "room-list"
LOGOUT_REDIRECT_URL = "login"

# The UI, error details and admin labels exist in these languages (README,
# "Languages"); each request and each socket picks one from the `django_language`
# cookie the switch sets, else Accept-Language, else English.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The switch's choice outlives the browser session (Django's default would not).
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated call then gets 401 with WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's three, with JSON decoded strictly (chat/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "chat.api.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's anonymous and per-user throttles, keyed on the client's address by our
    # rule (chat.api.throttles), not on the X-Forwarded-For header anyone can send.
    "DEFAULT_THROTTLE_CLASSES": [
        "chat.api.throttles.AnonThrottle",
        "chat.api.throttles.UserThrottle",
    ],
    # Counted in the cache below (Redis when configured, so limits hold across
    # server processes). 429 answers carry Retry-After.
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("API_THROTTLE_ANON", "60/min"),
        "user": os.environ.get("API_THROTTLE_USER", "1200/min"),
        "login": os.environ.get("API_THROTTLE_LOGIN", "10/min"),
        # Sign-up attempts per client address (the web form; chat.api.throttles):
        # a household or an office signs a few people up in an hour, a script
        # making throwaway accounts is stopped.
        "signup": os.environ.get("SIGNUP_THROTTLE", "10/hour"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Chat API",
    "DESCRIPTION": "REST part of the chat protocol (docs/protocol.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # No view takes a partial body: PATCH bodies are documented as they are checked.
    "COMPONENT_SPLIT_PATCH": False,
    # Refusals and path parameters, documented once for every operation.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "chat.api.schema.document_error_answers",
        "chat.api.schema.describe_path_parameters",
    ],
}

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CHANNEL_LAYER_PREFIX,
        }
    }

# The chat protocol's tunables (docs/protocol.md).
# Seconds between the frames a client must send; silence for three of them closes
# the socket with 4408.
# The server process's garbage collector (chatsite.serve): objects allocated between
# young-generation collections (Python's default is 700; 0 leaves Python's defaults
# and does not freeze the start-up objects). See docs/benchmarks.md.
CHAT_GC_YOUNG_THRESHOLD = env_int("CHAT_GC_YOUNG_THRESHOLD", 10_000)
CHAT_HEARTBEAT_SECONDS = env_int("CHAT_HEARTBEAT_SECONDS", 25)
# How often each server process reads the log of credential changes (logout,
# password change, deactivation by any path) and closes the sockets they end: one
# small indexed read per process per check, whatever the number of sockets; half a
# second keeps "within a second" with room to spare.
CHAT_CREDENTIAL_CHECK_SECONDS = float(
    os.environ.get("CHAT_CREDENTIAL_CHECK_SECONDS") or 0.5
)
# How often each process checks every one of its sockets (two queries over all of
# them): sessions that expire on their own end within this long.
CHAT_CREDENTIAL_FULL_CHECK_SECONDS = env_int("CHAT_CREDENTIAL_FULL_CHECK_SECONDS", 60)
# How often each process checks that its sockets are not behind their rooms (a lost
# broadcast that no later event revealed); one small query per check.
CHAT_CATCH_UP_SECONDS = env_int("CHAT_CATCH_UP_SECONDS", 5)
# More than this many error or rate-limited answers within the window closes 4429.
CHAT_FLOOD_MAX_ERRORS = env_int("CHAT_FLOOD_MAX_ERRORS", 20)
CHAT_FLOOD_WINDOW_SECONDS = env_int("CHAT_FLOOD_WINDOW_SECONDS", 10)
# A frame larger than this (in UTF-8 bytes) closes the socket with 1009.
CHAT_MAX_FRAME_BYTES = 64 * 1024
# permessage-deflate (RFC 7692) for clients that offer it (every browser does).
# Each event is compressed once per process, whatever the number of sockets, and
# message.new frames shrink by a third or more (bench/compression.py); `0` turns
# the negotiation off (plain frames for everyone).
CHAT_WEBSOCKET_COMPRESSION = env_bool("CHAT_WEBSOCKET_COMPRESSION", True)
# Events waiting for one socket's consumer (while it writes history, or behind a
# gap) before new messages and relays for it are dropped: it is then far behind, and
# its messages come back from the database (chat.delivery.sockets).
CHAT_SOCKET_INBOX_LIMIT = env_int("CHAT_SOCKET_INBOX_LIMIT", 1000)
# Messages replayed at most by one `subscribe` with `since`.
CHAT_REPLAY_LIMIT = 500
# Bytes a socket may leave unread in the server's send buffer before the server
# aborts it as a slow consumer (it recovers everything with `since`).
CHAT_SLOW_CONSUMER_BYTES = env_int("CHAT_SLOW_CONSUMER_BYTES", 256 * 1024)
CHAT_BODY_MAX_CHARS = 4000
# Flood control per user, over socket and REST together ("count/seconds"): a burst
# and a sustained rate. Excess sends are answered `rate_limited` (socket) or 429.
CHAT_SEND_BURST = os.environ.get("CHAT_SEND_BURST", "10/5")
CHAT_SEND_SUSTAINED = os.environ.get("CHAT_SEND_SUSTAINED", "60/60")
# A socket's `typing` frames are relayed at most once per this many seconds; the
# rest are dropped silently (clients send them on every keystroke).
CHAT_TYPING_INTERVAL_SECONDS = float(
    os.environ.get("CHAT_TYPING_INTERVAL_SECONDS", "2")
)
# Open sockets per user, across all server processes.
CHAT_MAX_SOCKETS_PER_USER = env_int("CHAT_MAX_SOCKETS_PER_USER", 10)
# Authors may edit a message for this many seconds after posting it (0: never).
# An hour covers fixing a typo or a wrong link; later edits would rewrite a
# conversation others have already answered. Every revision is kept either way.
CHAT_EDIT_WINDOW_SECONDS = env_int("CHAT_EDIT_WINDOW_SECONDS", 3600)
# Distinct emoji one message may carry as reactions: enough for any real use, and it
# bounds the size of every message object that carries them.
CHAT_REACTION_EMOJI_MAX = env_int("CHAT_REACTION_EMOJI_MAX", 20)
# Reaction changes per user ("count/seconds", burst and sustained), apart from the
# send rate: a person clicks a few in a row, a script toggling one floods the room.
CHAT_REACTION_BURST = os.environ.get("CHAT_REACTION_BURST", "20/10")
CHAT_REACTION_SUSTAINED = os.environ.get("CHAT_REACTION_SUSTAINED", "120/60")

# Attachments (chat.attachments). Files go through Django's storage API only, so any
# STORAGES["default"] backend works; the local default keeps them in MEDIA_ROOT,
# which is never served directly: /attachments/<id>/<name> checks membership first.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Largest file accepted (bytes): a phone photo or a document fits; a video does not,
# and a deployment's proxy body limit must be a little above it (docs/deploy.md).
CHAT_ATTACHMENT_MAX_BYTES = env_int("CHAT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# Attachments one message may carry: enough for a batch of photos, few enough that
# a message object stays small on the wire.
CHAT_ATTACHMENTS_PER_MESSAGE = env_int("CHAT_ATTACHMENTS_PER_MESSAGE", 10)
# Uploads never attached to a message are deleted after this many hours by
# `manage.py chat_delete_stale_uploads` (run it from cron): long enough for a
# slow typist, short enough that abandoned files do not pile up.
CHAT_UNATTACHED_UPLOAD_HOURS = env_int("CHAT_UNATTACHED_UPLOAD_HOURS", 24)
# Upload rate per user ("count/seconds"), apart from the send budget: a file costs
# far more than a message, so the sustained rate is per hour.
CHAT_UPLOAD_BURST = os.environ.get("CHAT_UPLOAD_BURST", "10/60")
CHAT_UPLOAD_SUSTAINED = os.environ.get("CHAT_UPLOAD_SUSTAINED", "100/3600")
# Uploads above this size are spooled to a temporary file while parsed, so a
# maximal attachment never sits whole in memory (Django's default, made explicit).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2621440
# Caps request bodies other than files (JSON, form fields); uploaded files are not
# counted in it, CHAT_ATTACHMENT_MAX_BYTES bounds them. Django's default.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2621440
# Distinct `@names` looked at per message: more than a real message needs, few enough
# that one message cannot page a whole room or make the name lookup expensive.
CHAT_MENTIONS_MAX_PER_MESSAGE = env_int("CHAT_MENTIONS_MAX_PER_MESSAGE", 50)
# Longest search query: a person types a few words; longer ones are only costlier
# full-text queries (and substring scans for scripts without spaces).
CHAT_SEARCH_QUERY_MAX_CHARS = env_int("CHAT_SEARCH_QUERY_MAX_CHARS", 200)

# Who may read /metrics (Prometheus text for this process).
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
# The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed
# (addresses or CIDRs; docs/deploy.md). Empty by default: the TCP peer is the client,
# since a header anyone can send must not decide throttles, the sign-in lockout or
# the /metrics allow-list (chatsite.client_address).
CHAT_TRUSTED_PROXIES = env_list("CHAT_TRUSTED_PROXIES", [])
try:
    parse_networks(CHAT_TRUSTED_PROXIES)
except ValueError as error:
    raise ImproperlyConfigured(f"CHAT_TRUSTED_PROXIES: {error}") from None
# Its predecessor trusted the left-most X-Forwarded-For entry from anyone; it is no
# longer read, and a deployment that still sets it is stopped with what to do.
if env_bool("CHAT_PROXY_HEADERS", False):
    raise ImproperlyConfigured(
        "CHAT_PROXY_HEADERS is replaced by CHAT_TRUSTED_PROXIES: set that to your "
        "reverse proxies' addresses (e.g. 127.0.0.1 for nginx on this machine) "
        "and remove CHAT_PROXY_HEADERS."
    )
# Who the sign-in lockout counts failures against: the same client address.
AXES_CLIENT_IP_CALLABLE = "chatsite.client_address.of_request"

LOG_FORMATS = {
    # For a person at a terminal. `extra` fields are not shown; use json to see them.
    "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    # One JSON object per line, `extra` fields included, for a log collector.
    "json": {"()": "chatsite.log_format.JsonFormatter"},
}


def logging_config(log_format: str, level: str) -> dict:
    """Everything to stderr through one handler on the root logger, in `log_format`.

    Django's own handlers (console when DEBUG, mail_admins) are replaced, so its
    records go the same way, formatted the same; so do Daphne's and Channels'.
    """
    if log_format not in LOG_FORMATS:
        raise ImproperlyConfigured(
            f"LOG_FORMAT must be one of {sorted(LOG_FORMATS)}, not {log_format!r}."
        )
    through_root = {"handlers": [], "level": level, "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {log_format: LOG_FORMATS[log_format]},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format}
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            **{
                name: through_root
                for name in (
                    "django",
                    "django.server",
                    "daphne",
                    "channels",
                    "chat",
                    "chatsite",
                    "accounts",
                )
            },
            # psycopg's pools say when they cannot connect (a warning); their INFO
            # lines are one per connection checkout, far too many for a hot path.
            "psycopg": {"handlers": [], "level": "WARNING", "propagate": True},
            # django-axes announces itself at INFO in every process, every command;
            # its lockouts are warnings and still come through.
            "axes": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


# Logs: `text` by default here and in local; production defaults to `json`.
LOG_FORMAT = os.environ.get("LOG_FORMAT") or "text"
LOG_LEVEL = (os.environ.get("LOG_LEVEL") or "INFO").upper()
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)

REST_FRAMEWORK["EXCEPTION_HANDLER"] = "chat.api.errors.chat_exception_handler"
