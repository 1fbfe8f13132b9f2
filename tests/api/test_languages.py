"""REST answers in the caller's language (Accept-Language, or the switch's cookie):
our `detail` texts and DRF's own, while `code`, keys and values stay English. And
rooms and messages in any script go in and come out unchanged.
"""

import pytest

from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}
MESSAGES = "/api/v1/rooms/plaza/messages/"


@pytest.mark.parametrize("auth", ["session", "token"])
def test_chat_error_details_are_chinese_and_codes_english(world, auth):
    member = client_for(world["users"]["member"], auth)
    response = member.post(
        MESSAGES, {"body": "   ", "client_id": "c-1"}, format="json", **ZH
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "消息为空。", "code": "body_empty"}

    outsider = client_for(world["users"]["outsider"], auth)
    response = outsider.post(
        MESSAGES, {"body": "hi", "client_id": "c-2"}, format="json", **ZH
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "只有成员才能这样做；请先加入房间。",
        "code": "not_member",
    }


def test_without_a_preference_the_details_are_english(world):
    member = client_for(world["users"]["member"], "token")
    response = member.post(MESSAGES, {"body": "", "client_id": "c"}, format="json")
    assert response.json() == {"detail": "The message is empty.", "code": "body_empty"}


def test_service_details_with_values_are_chinese(world):
    owner = client_for(world["users"]["owner"], "token")
    tom = world["users"]["tom"]
    response = owner.post(
        f"/api/v1/rooms/plaza/members/{tom.pk}/mute/",
        {"minutes": 10**7},
        format="json",
        **ZH,
    )
    assert response.status_code == 400
    # DRF's own validation message, from DRF's zh_Hans catalog.
    assert response.json()["minutes"] == ["请确保该值小于或者等于 525600。"]

    response = owner.post(
        "/api/v1/rooms/",
        {"slug": "plaza", "name": "again"},
        format="json",
        **ZH,
    )
    assert response.json() == {
        "detail": "网址标识 'plaza' 不可用，请另选一个。",
        "code": "invalid",
    }


def test_drf_errors_are_chinese_too(world):
    anonymous = client_for(None, "token")
    response = anonymous.get("/api/v1/rooms/", **ZH)
    assert response.status_code == 401
    assert response.json() == {"detail": "身份认证信息未提供。"}

    member = client_for(world["users"]["member"], "token")
    response = member.post(MESSAGES, {"body": "hi"}, format="json", **ZH)
    assert response.json() == {"client_id": ["该字段是必填项。"]}

    response = member.get(MESSAGES, {"limit": "many"}, **ZH)
    assert response.json() == {"limit": "'limit' 必须是整数。"}


def test_the_language_cookie_chooses_for_api_calls_too(world):
    member = client_for(world["users"]["member"], "session")
    member.cookies["django_language"] = "zh-hans"
    response = member.post(
        MESSAGES,
        {"body": "", "client_id": "c"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.json()["detail"] == "消息为空。"


BODIES = [
    "你好，世界！",
    "مرحبا بالعالم",
    "👋🏽 👨‍👩‍👧 🇨🇳",
    "Ελληνικά русский עברית हिन्दी 日本語 한국어",
]


def test_rooms_and_messages_in_any_script_round_trip(world):
    owner = client_for(world["users"]["owner"], "token")
    response = owner.post(
        "/api/v1/rooms/",
        {"slug": "العربية-中文", "name": "多语言 🌍 متعدد", "topic": "话题 موضوع"},
        format="json",
        **ZH,
    )
    assert response.status_code == 201, response.json()
    assert response.json()["slug"] == "العربية-中文"
    url = "/api/v1/rooms/العربية-中文/messages/"
    for index, body in enumerate(BODIES):
        sent = owner.post(
            url, {"body": body, "client_id": f"多-{index}"}, format="json"
        )
        assert sent.status_code == 201
        assert sent.json()["body"] == body
    page = owner.get(url).json()["results"]
    assert [message["body"] for message in reversed(page)] == BODIES
    assert {message["room"] for message in page} == {"العربية-中文"}
    detail = owner.get("/api/v1/rooms/العربية-中文/").json()
    assert (detail["name"], detail["topic"]) == ("多语言 🌍 متعدد", "话题 موضوع")
