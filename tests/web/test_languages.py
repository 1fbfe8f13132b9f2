"""Pages in the browser's language, the switch that overrides it, the JavaScript
catalog, the admin in Chinese; and rooms named in any script on the pages."""

import json
import re

import pytest
from django.urls import reverse

from chat import services
from chat.models import Membership

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.8"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def test_a_chinese_browser_gets_the_chinese_login_page(client):
    page = client.get(reverse("login"), **ZH).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "<title>登录</title>" in page
    assert "用户名" in page  # Django's own form labels follow
    assert "还没有账号？" in page
    assert "Log in" not in page


def test_a_chinese_browser_gets_the_chinese_room_list(client, bob, general):
    client.force_login(bob)
    page = client.get(reverse("room-list"), **ZH).content.decode()
    assert "<h1>房间</h1>" in page
    assert "创建房间" in page
    assert "退出登录" in page
    assert "地址" in page and "房间网址的最后一段，/rooms/…/" in page
    assert "General" in page  # names are data: never translated


def test_english_is_the_default(client, bob, general):
    client.force_login(bob)
    page = client.get(reverse("room-list")).content.decode()
    assert '<html lang="en">' in page
    assert "<h1>Rooms</h1>" in page and "Create a room" in page
    assert '<html lang="en">' in client.get(reverse("room-list"), **EN).content.decode()


def test_the_switch_posts_to_set_language_with_csrf_and_the_current_path(
    client, bob, general
):
    client.force_login(bob)
    path = reverse("room-detail", args=["general"])
    page = client.get(path, **EN).content.decode()
    switch = re.search(
        r'<form method="post" action="/i18n/setlang/".*?</form>', page, re.S
    ).group(0)
    assert 'name="csrfmiddlewaretoken"' in switch
    assert f'name="next" value="{path}"' in switch
    assert 'name="language" value="zh-hans"' in switch and "简体中文" in switch
    assert 'value="en"' not in switch  # only the languages one is not using


def test_the_switch_changes_the_language_and_it_sticks(client, bob, general):
    client.force_login(bob)
    path = reverse("room-detail", args=["general"])
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": path}, **EN
    )
    assert response.status_code == 302 and response["Location"] == path
    cookie = client.cookies["django_language"]
    assert cookie.value == "zh-hans"
    assert cookie["max-age"] == 365 * 24 * 60 * 60  # not just this browser session
    # The cookie wins over the browser's English, on every later page.
    assert "发送" in client.get(path, **EN).content.decode()
    assert "<h1>房间</h1>" in client.get(reverse("room-list"), **EN).content.decode()

    client.post(reverse("set_language"), {"language": "en", "next": "/"}, **ZH)
    assert "<h1>Rooms</h1>" in client.get(reverse("room-list"), **ZH).content.decode()


def test_the_switch_refuses_a_foreign_next(client):
    response = client.post(
        reverse("set_language"),
        {"language": "zh-hans", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def catalog(client, **headers) -> dict:
    """The translations /jsi18n/ hands window.gettext."""
    script = client.get(reverse("javascript-catalog"), **headers).content.decode()
    found = re.search(r"const newcatalog = (\{.*?\});", script, re.S)
    return json.loads(found[1]) if found else {}  # English: no catalog at all


def test_the_javascript_catalog_carries_room_js_strings(client):
    chinese = catalog(client, **ZH)
    assert chinese["online"] == "在线"
    assert chinese["offline: reconnecting in %(seconds)s s"] == (
        "离线：%(seconds)s 秒后重新连接"
    )
    assert "online" not in catalog(client, **EN)


def test_every_page_loads_the_catalog_before_room_js(client, bob, general):
    client.force_login(bob)
    page = client.get(reverse("room-detail", args=["general"])).content.decode()
    assert page.index(reverse("javascript-catalog")) < page.index("chat/room.js")


def test_the_admin_shows_chinese_names_and_labels(admin_client, ana, general):
    page = admin_client.get("/admin/chat/room/", **ZH).content.decode()
    assert "选择 房间 来修改" in page  # Django's sentence, our verbose_name
    for label in ("网址标识", "名称", "私密", "房主", "创建时间"):
        assert label in page, label
    index = admin_client.get("/admin/", **ZH).content.decode()
    for plural in ("房间", "消息", "成员资格", "房间封禁", "管理操作"):
        assert plural in index, plural

    memberships = admin_client.get("/admin/chat/membership/", **ZH).content.decode()
    assert "禁言 10 分钟" in memberships and "解除禁言" in memberships
    assert (
        "版主"
        in admin_client.get(
            "/admin/chat/membership/", {"role__exact": "moderator"}, **ZH
        ).content.decode()
    )


def test_admin_action_messages_are_chinese(admin_client, bob, general):
    membership = Membership.objects.get(room=general, user=bob)
    response = admin_client.post(
        "/admin/chat/membership/",
        {"action": "mute_10", "_selected_action": [str(membership.pk)]},
        follow=True,
        **ZH,
    )
    assert "已禁言 10 分钟：1 项。" in response.content.decode()


ROOMS = [
    ("中文-聊天", "中文聊天室"),
    ("عربي", "غرفة الدردشة"),
    ("emoji", "Party 🎉👨‍👩‍👧"),
]


@pytest.mark.parametrize(("slug", "name"), ROOMS)
def test_rooms_named_in_any_script_are_created_listed_and_shown(
    client, bob, slug, name
):
    client.force_login(bob)
    response = client.post(
        reverse("room-create"), {"slug": slug, "name": name, "topic": "话题"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("room-detail", args=[slug])
    listing = client.get(reverse("room-list"), **ZH).content.decode()
    assert name in listing and f"#{slug}" in listing
    page = client.get(response["Location"], **ZH).content.decode()
    assert f"<title>{name}</title>" in page
    assert f'data-room="{slug}"' in page


def test_a_chinese_room_join_button_names_the_room(client, ana, carol):
    services.room_create(owner=ana, slug="茶馆", name="老舍茶馆")
    client.force_login(carol)
    page = client.get(reverse("room-detail", args=["茶馆"]), **ZH).content.decode()
    assert "加入 老舍茶馆" in page
    assert "你不是这个房间的成员。" in page
