"""Sign-up refuses look-alike usernames (on the form and in the admin) and is
throttled per client address."""

import pytest
from django.urls import reverse

from accounts.models import UsernameSkeleton
from chat.api.throttles import SignUpThrottle

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-passw0rd"


def sign_up(client, username: str, **extra):
    data = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    return client.post(reverse("signup"), data, **extra)


@pytest.mark.parametrize("look_alike", ["\u0430na", "an\u0430", "\u0410NA"])
def test_a_username_that_looks_like_an_existing_one_is_refused(
    client, ana, django_user_model, look_alike
):
    response = sign_up(client, look_alike)
    assert response.status_code == 200
    assert "looks too much like an existing one" in response.content.decode()
    assert not django_user_model.objects.filter(username=look_alike).exists()


def test_a_distinct_username_is_still_accepted(client, ana):
    assert sign_up(client, "anabel").status_code == 302


def test_the_admin_refuses_to_add_or_rename_to_a_look_alike(
    admin_client, ana, bob, django_user_model
):
    added = admin_client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "\u0430na",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
        },
    )
    assert added.status_code == 200
    assert "looks too much like an existing one" in added.content.decode()
    assert not django_user_model.objects.filter(username="\u0430na").exists()

    change_url = reverse("admin:auth_user_change", args=[bob.pk])
    form = admin_client.get(change_url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in {"groups", "user_permissions"}
    }
    data.update(username="\u0430na", date_joined_0="2026-01-01", date_joined_1="00:00")
    data.pop("date_joined", None)
    data.pop("last_login", None)
    renamed = admin_client.post(change_url, data)
    assert renamed.status_code == 200
    assert "looks too much like an existing one" in renamed.content.decode()
    bob.refresh_from_db()
    assert bob.username == "bob"


def test_every_saved_user_has_its_key_recorded(django_user_model):
    user = django_user_model.objects.create_user("zoe")
    user.username = "Zoe2"
    user.save()
    assert UsernameSkeleton.objects.get(user=user).skeleton == "zoe2"


def test_sign_up_is_throttled_per_client_address(client, monkeypatch):
    monkeypatch.setattr(SignUpThrottle, "THROTTLE_RATES", {"signup": "2/hour"})
    from django.test import Client

    statuses = [
        sign_up(
            Client(),
            f"user{n}",
            REMOTE_ADDR="203.0.113.5",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        ).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]
    # A refused attempt is not validated: it says nothing about the name it tried.
    refused = sign_up(Client(), "user0", REMOTE_ADDR="203.0.113.5")
    assert refused.status_code == 429
    assert "already exists" not in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert "Too many sign-ups from your address" in refused.content.decode()
    # Another address is not affected.
    assert sign_up(Client(), "user9", REMOTE_ADDR="203.0.113.6").status_code == 302
