"""The OpenAPI schema and its docs are served without internet, and a schema-driven
fuzz of every operation finds no server error."""

import re

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from chat import services

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_and_lists_the_contract(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/rooms/",
        "/api/v1/rooms/{slug}/messages/",
        "/api/v1/messages/{message_id}/",
        "/api/v1/users/{user_id}/notify/",
        "/api/v1/auth/token/",
    ):
        assert path in schema["paths"]


def test_docs_page_loads_its_assets_from_this_server_only(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)
    assert external == []
    for asset in re.findall(r"""(?:src|href)=["'](/static/[^"']+)""", html):
        assert client.get(asset).status_code == 200, asset


schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
# Valid and deliberately invalid inputs (wrong types, out-of-range values, ...).
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)


@pytest.fixture
def fuzz_target(ana, bob, general, media_root):
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    seed, _ = services.message_create(
        room=general, author=ana, body="seed", client_id="seed"
    )
    token, _ = Token.objects.get_or_create(user=ana)
    # The WSGI handler closes the database connection after each request, which would
    # end the test's transaction; Django's own test client unhooks it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {
        "headers": {"Authorization": f"Token {token.key}"},
        # Point path parameters at objects that exist, so that fuzzed bodies and
        # query strings reach the code behind the lookups instead of a 404.
        "path": {"slug": "general", "user_id": bob.pk, "message_id": seed.pk},
    }
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_operation_answers_with_a_server_error(case, fuzz_target):
    from schemathesis.checks import not_a_server_error

    for name, value in fuzz_target["path"].items():
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = value
    case.call_and_validate(headers=fuzz_target["headers"], checks=[not_a_server_error])
