"""The OpenAPI schema says what a live server does: schemathesis, with every response
check, against a real server process and a token, finds nothing to report.

Valid and deliberately invalid requests to every operation; each answer must be
documented (status, content type, headers, body), schema-valid requests must be
accepted and invalid ones refused. One server serves the module, so that the
operations' tests do not each pay for a server start.
"""

import urllib.error
import urllib.request

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token

from chat import services
from tests.servers import ChatServer

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def api_server(django_db_setup, tmp_path_factory):
    """One server on the test database for all the operations' tests."""
    media = tmp_path_factory.mktemp("media")
    server = ChatServer(extra_env={"MEDIA_ROOT": str(media)}).start()
    yield server
    server.stop()


@pytest.fixture
def world(api_server, ana, bob, general):
    """The caller (ana) and path parameters that name real objects, so that fuzzed
    bodies and queries reach the code behind the lookups instead of a 404."""
    seed, _ = services.message_create(
        room=general, author=ana, body="seed", client_id="seed"
    )
    # Listed with the rooms: its slug must match the schema's slug pattern too.
    services.direct_open_by_username(user=ana, username=bob.username)
    return {
        "url": api_server.http_url,
        "caller": ana,
        "path": {"slug": general.slug, "user_id": bob.pk, "message_id": seed.pk},
    }


def served_schema() -> dict:
    """The schema as /api/v1/schema/ serves it, built here so that pytest can list
    the operations before any server runs (the same code builds it there)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = SchemaGenerator().get_schema(request=None, public=True)
    return orjson.loads(OpenApiJsonRenderer().render(document))


schema = schemathesis.openapi.from_dict(served_schema())
# Valid and deliberately invalid inputs (wrong types, out-of-range values, ...).
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)


# Valid requests refused for what exists, or for what a file holds, which no schema
# can say: each is the contract's answer (docs/protocol.md), told by its code (the
# token endpoint's by DRF's key). Any other refusal of valid data fails the test.
REFUSED_FOR_WHAT_EXISTS = {
    ("POST", "/api/v1/auth/token/"): {"non_field_errors"},  # wrong credentials
    ("POST", "/api/v1/rooms/"): {"invalid"},  # the slug is taken
    ("POST", "/api/v1/direct/"): {"invalid"},  # with oneself
    ("POST", "/api/v1/rooms/{slug}/members/"): {"invalid"},  # a banned user
    ("POST", "/api/v1/rooms/{slug}/members/{user_id}/unban/"): {"invalid"},
    ("POST", "/api/v1/rooms/{slug}/leave/"): {"invalid"},  # a direct conversation
    ("POST", "/api/v1/rooms/{slug}/messages/"): {"attachment_invalid"},  # not theirs
    ("POST", "/api/v1/rooms/{slug}/attachments/"): {"invalid", "unsupported_type"},
}


def refused_for_what_exists(case, response) -> bool:
    codes = REFUSED_FOR_WHAT_EXISTS.get((case.method, case.path))
    if codes is None or response.status_code not in (400, 415):
        return False
    body = response.json()
    return body.get("code", next(iter(body), None)) in codes


def refused_for_both_cursors(case, response) -> bool:
    """History takes `before` or `after`, not both: a rule between two parameters,
    which OpenAPI 3.0 cannot state (the parameters' descriptions do)."""
    query = case.query or {}
    return (
        case.path == "/api/v1/rooms/{slug}/messages/"
        and response.status_code == 400
        and "before" in query
        and "after" in query
    )


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    # A failure is reported as found: shrinking it would take minutes of requests.
    phases=[Phase.explicit, Phase.generate],
)
def test_every_answer_is_the_one_the_schema_documents(case, world):
    components = case.meta.components if case.meta else {}
    path_mode = next(
        (info.mode for location, info in components.items() if location == "path"),
        None,
    )
    # The coverage phase keeps its drawn (mostly unknown) ids and slugs, which pins
    # the documented 404s; fuzzed valid requests are pointed at real objects.
    if case.meta and case.meta.phase.name == "fuzzing" and path_mode is not None:
        if path_mode.is_positive:
            for name, value in world["path"].items():
                if name in (case.path_parameters or {}):
                    case.path_parameters[name] = str(value)
    # Minted again for each request: a fuzzed logout revokes it.
    token, _ = Token.objects.get_or_create(user=world["caller"])
    headers = {"Authorization": f"Token {token.key}"}
    response = case.call(base_url=world["url"], headers=headers)
    excluded = []
    if refused_for_what_exists(case, response) or refused_for_both_cursors(
        case, response
    ):
        excluded.append(schemathesis.checks.positive_data_acceptance)
    case.validate_response(
        response,
        headers=headers,
        excluded_checks=excluded,
        transport_kwargs={"base_url": world["url"], "headers": headers},
    )


def test_a_multipart_body_without_parts_gets_the_api_answer(world):
    """Twisted parsed POSTed multipart bodies before Daphne saw them, and answered
    one it could not parse itself: a bare 400, no JSON, no access log line."""
    token, _ = Token.objects.get_or_create(user=world["caller"])
    request = urllib.request.Request(
        f"{world['url']}/api/v1/rooms/general/attachments/",
        data=b"--b--\r\n",
        headers={
            "Content-Type": "multipart/form-data; boundary=b",
            "Authorization": f"Token {token.key}",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
    assert orjson.loads(refused.value.read()) == {
        "detail": "Send the file in the multipart field 'file'.",
        "code": "invalid",
    }
