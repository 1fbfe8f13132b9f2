"""Every REST error response is counted in chat_errors_total{transport="http"}, by the
code it carries (the contract's codes, or DRF's own for DRF's errors)."""

import pytest

from chat import metrics
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/rooms/general/messages/"


def http_errors(code: str) -> float:
    return metrics.errors.labels("http", code).value


@pytest.mark.parametrize(
    ("who", "path", "status", "code"),
    [
        ("anonymous", URL, 401, "not_authenticated"),
        ("carol", URL, 403, "not_member"),
        ("ana", "/api/v1/rooms/nowhere/messages/", 404, "room_not_found"),
        ("ana", URL + "?before=x", 400, "invalid"),
    ],
)
def test_rest_errors_are_counted_by_code(ana, carol, general, who, path, status, code):
    user = {"anonymous": None, "ana": ana, "carol": carol}[who]
    before = http_errors(code)
    response = client_for(user, "token").get(path)
    assert response.status_code == status, response.content
    assert http_errors(code) == before + 1


def test_a_successful_request_counts_no_error(ana, general):
    total_before = sum(value for _, _, value in metrics.errors.samples())
    response = client_for(ana, "token").get(URL)
    assert response.status_code == 200
    assert sum(value for _, _, value in metrics.errors.samples()) == total_before
