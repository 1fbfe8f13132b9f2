"""Editing and reacting in real Chromium, seen live by the other person: bob edits his
message and ana, who owns the room, reads its history; both react to a message."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from tests.browser.pages import WIDTHS, at_width, messages, send_message, socket_cut

pytestmark = [pytest.mark.browser, pytest.mark.processes]


@pytest.mark.parametrize("width", WIDTHS)
def test_an_edit_shows_live_and_a_moderator_reads_the_earlier_text(two_people, width):
    ana, bob = two_people
    at_width(ana, bob, width=width)
    send_message(bob, "teh meeting is at 10")
    expect(messages(ana)).to_have_count(1)
    bob_message, ana_message = messages(bob).first, messages(ana).first
    # Only the author is offered an edit.
    expect(ana_message.get_by_test_id("edit")).to_have_count(0)

    # Escape leaves the message as it was.
    bob_message.get_by_test_id("edit").click()
    bob_message.get_by_test_id("edit-field").fill("never mind")
    bob_message.get_by_test_id("edit-field").press("Escape")
    expect(bob_message.locator(".body")).to_have_text("teh meeting is at 10")
    expect(bob_message.locator(".edited")).to_have_count(0)

    # Enter saves: ana sees the new text and the mark without reloading.
    bob_message.get_by_test_id("edit").click()
    bob_message.get_by_test_id("edit-field").fill("the meeting is at 11")
    bob_message.get_by_test_id("edit-field").press("Enter")
    for message in (ana_message, bob_message):
        expect(message.locator(".body")).to_have_text("the meeting is at 11")
        expect(message.locator(".edited")).to_have_text("(edited)")

    # Plain members see no history; ana owns the room and does.
    expect(bob_message.get_by_test_id("history")).to_have_count(0)
    ana_message.get_by_test_id("history").click()
    versions = ana_message.get_by_test_id("history-panel").get_by_test_id("version")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("teh meeting is at 10")
    expect(versions.nth(1)).to_contain_text("the meeting is at 11 (current)")


@pytest.mark.parametrize("width", WIDTHS)
def test_reactions_count_live_for_both_people(two_people, width):
    ana, bob = two_people
    at_width(ana, bob, width=width)
    send_message(ana, "lunch?")
    expect(messages(bob)).to_have_count(1)
    ana_message, bob_message = messages(ana).first, messages(bob).first

    # ana reacts from the palette; bob sees it without reloading.
    ana_message.get_by_test_id("add-reaction").click()
    ana_message.get_by_test_id("reaction-palette").locator("[data-emoji='👍']").click()
    bob_chip = bob_message.get_by_test_id("reaction")
    expect(bob_chip).to_have_text("👍 1")
    expect(bob_chip).to_have_attribute("title", "ana")
    expect(bob_chip).to_have_attribute("aria-pressed", "false")

    # bob clicks the same chip: two, and both names.
    bob_chip.click()
    ana_chip = ana_message.get_by_test_id("reaction")
    for chip in (ana_chip, bob_chip):
        expect(chip).to_have_text("👍 2")
        expect(chip).to_have_attribute("title", "ana, bob")
    expect(bob_chip).to_have_class("reaction mine")

    # ana clicks her highlighted chip: hers is removed, bob's stays.
    expect(ana_chip).to_have_attribute("aria-pressed", "true")
    ana_chip.click()
    for chip in (ana_chip, bob_chip):
        expect(chip).to_have_text("👍 1")
        expect(chip).to_have_attribute("title", "bob")
    expect(ana_chip).to_have_attribute("aria-pressed", "false")

    # After a reload the page shows the same state, from the history API.
    ana.reload()
    expect(messages(ana).first.get_by_test_id("reaction")).to_have_text("👍 1")


def change_while_offline(message_id: int, *, body: str, emoji: str) -> None:
    """ana edits and reacts through the services, on a thread of its own (the
    test's thread holds Playwright's event loop)."""

    def change():
        from django.db import connection

        from chat import reactions, services
        from chat.models import Message

        message = Message.objects.select_related("room", "author").get(pk=message_id)
        services.message_edit(message=message, editor=message.author, body=body)
        reactions.reaction_add(message=message, user=message.author, emoji=emoji)
        connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(change).result()


def test_edits_and_reactions_made_while_offline_show_after_reconnecting(two_people):
    ana, bob = two_people
    send_message(ana, "lunch at noon")
    expect(messages(bob)).to_have_count(1)
    message_id = int(messages(bob).first.get_attribute("data-id"))
    with socket_cut(bob):
        change_while_offline(message_id, body="lunch at one", emoji="🎉")
    # `since` brings no new message; the page fetches the newest page again.
    shown = messages(bob).first
    expect(shown.locator(".body")).to_have_text("lunch at one", timeout=20_000)
    expect(shown.locator(".edited")).to_be_visible()
    expect(shown.get_by_test_id("reaction")).to_have_text("🎉 1")
    expect(messages(bob)).to_have_count(1)
