"""The OpenAPI schema and its docs are served without internet; the schema documents
every refusal and the request shapes the server takes (the live, schema-driven run
of every operation is tests/processes/test_api_schema.py)."""

import re

import pytest

from chat import services
from tests.api.conftest import client_for

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


def served_schema(client) -> dict:
    return client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_documents_its_refusals_with_the_error_body(client):
    schema = served_schema(client)
    for name, operation in operations(schema):
        expected = {"400", "401", "403", "429"}
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            expected.add("404")
        if "requestBody" in operation:
            expected |= {"413", "415"}
        responses = operation["responses"]
        assert expected <= set(responses), name
        for status in expected:
            body = responses[status]["content"]["application/json"]["schema"]
            assert body["$ref"].rsplit("/", 1)[1] in ("Error", "InvalidRequest"), name
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]


def test_a_refusal_a_view_declares_gets_the_error_body(client):
    """Search names a room in its query: an unknown one is a 404 of its own."""
    schema = served_schema(client)
    answer = schema["paths"]["/api/v1/search/"]["get"]["responses"]["404"]
    assert answer["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_request_bodies_are_documented_as_json_and_the_upload_as_multipart(client):
    for name, operation in operations(served_schema(client)):
        if "requestBody" in operation:
            expected = (
                ["multipart/form-data"]
                if name == "POST /api/v1/rooms/{slug}/attachments/"
                else ["application/json"]
            )
            assert list(operation["requestBody"]["content"]) == expected, name


def test_room_slugs_of_every_kind_match_the_schema_slug_pattern(client, ana, bob):
    """A direct conversation's slug (`dm.1.2`) and a unicode slug are room slugs
    too, in the room objects and in the paths."""
    schema = served_schema(client)
    direct, _ = services.direct_open_by_username(user=ana, username="bob")
    unicode_room = services.room_create(owner=ana, slug="café", name="Café")
    room_pattern = schema["components"]["schemas"]["Room"]["properties"]["slug"]
    path = schema["paths"]["/api/v1/rooms/{slug}/"]["get"]["parameters"][0]
    assert path["name"] == "slug"
    for pattern in (room_pattern["pattern"], path["schema"]["pattern"]):
        for slug in (direct.slug, unicode_room.slug, "general"):
            assert re.search(pattern, slug), (pattern, slug)
        assert not re.search(pattern, "two words")


def test_history_query_parameters_carry_their_bounds(client):
    parameters = {
        parameter["name"]: parameter["schema"]
        for parameter in served_schema(client)["paths"][
            "/api/v1/rooms/{slug}/messages/"
        ]["get"]["parameters"]
    }
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 200}
    assert parameters["before"]["minimum"] == parameters["after"]["minimum"] == 0
    assert parameters["order"]["enum"] == ["newest", "oldest"]


def test_a_patch_body_is_documented_with_its_required_fields(client):
    schema = served_schema(client)
    edit = schema["paths"]["/api/v1/messages/{message_id}/"]["patch"]
    ref = edit["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["required"] == [
        "body"
    ]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("rooms/", {"slug": 5, "name": "Five"}),
        ("rooms/", {"slug": "five", "name": 5}),
        ("rooms/", {"slug": "five", "name": "Five", "is_private": "yes"}),
        ("rooms/", {"slug": "five", "name": "Five", "is_private": 1}),
        ("rooms/general/members/{bob}/mute/", {"minutes": "5"}),
        ("rooms/general/members/{bob}/mute/", {"minutes": 5, "reason": 5}),
        ("rooms/general/members/{bob}/ban/", {"reason": 5}),
        ("rooms/general/read/", {"last_id": "0"}),
        ("rooms/general/members/", {"username": 5}),
    ],
)
def test_a_body_field_takes_only_its_documented_json_type(
    ana, bob, general, path, body
):
    """DRF would read "yes" as true and 5 as "5"; the schema says boolean, string."""
    client = client_for(ana, "token")
    response = client.post(f"/api/v1/{path.format(bob=bob.pk)}", body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()) <= set(body)


def test_integers_beyond_any_id_are_a_400_and_the_schema_bounds_them(
    client, ana, general
):
    """Ids are BigAutoField: a larger number is no id, said before any query."""
    schema = served_schema(client)
    send = schema["paths"]["/api/v1/rooms/{slug}/messages/"]["post"]
    ref = send["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert fields["attachments"]["items"]["maximum"] == 2**63 - 1
    message = schema["paths"]["/api/v1/messages/{message_id}/"]["patch"]
    assert message["parameters"][0]["schema"]["maximum"] == 2**63 - 1
    response = client_for(ana, "token").post(
        "/api/v1/rooms/general/messages/",
        {"body": "x", "client_id": "c1", "attachments": [2**63, 2**120]},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"attachments"}


def test_an_address_no_api_route_matches_is_a_json_404(client):
    for address in ("/api/v1/messages/-1/", "/api/v1/nothing/", "/attachments/x/y"):
        response = client.get(address)
        assert response.status_code == 404, address
        assert response.json() == {"detail": "Not found.", "code": "not_found"}
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
