"""Attachments in real Chromium: one person attaches files, the other sees them live."""

import pytest
from playwright.sync_api import Page, expect

from tests import files
from tests.browser.pages import (
    messages,
    send_message,
    two_people_in_lobby,
)
from tests.servers import ChatServer

pytestmark = [pytest.mark.browser, pytest.mark.processes]


@pytest.fixture
def server(transactional_db, tmp_path):
    """A server storing uploads in this test's temporary directory."""
    server = ChatServer(extra_env={"MEDIA_ROOT": str(tmp_path / "media")}).start()
    yield server
    server.stop()


@pytest.fixture
def two_people(browser, server):
    """ana and bob in 'lobby'; bob's browser keeps downloads."""
    return two_people_in_lobby(browser, server, accept_downloads=True)


def attach(page: Page, name: str, content: bytes, mime: str) -> None:
    page.get_by_test_id("attach-input").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": content}]
    )


def test_a_picture_appears_inline_for_the_other_person_live(two_people):
    ana, bob = two_people
    attach(ana, "red square.png", files.png(), "image/png")
    expect(ana.get_by_test_id("pending-attachment")).to_contain_text("red square.png")
    send_message(ana, "look at this")
    expect(ana.get_by_test_id("pending-attachment")).to_have_count(0)
    image = messages(bob).last.get_by_test_id("attachment-image")
    expect(image).to_have_attribute("alt", "red square.png")
    # Decoded by the browser: served to bob's session as a real image.
    expect(image).to_have_js_property("naturalWidth", 2)
    expect(messages(bob).last).to_contain_text("look at this")
    expect(messages(ana).last.get_by_test_id("attachment-image")).to_have_js_property(
        "naturalWidth", 2
    )


def test_a_phone_photo_shows_upright_without_its_metadata(two_people, server):
    ana, bob = two_people
    attach(ana, "holiday.jpg", files.PHOTO_JPEG, "image/jpeg")
    expect(ana.get_by_test_id("pending-attachment")).to_contain_text("holiday.jpg")
    send_message(ana, "from the beach")
    image = messages(bob).last.get_by_test_id("attachment-image")
    # 16x8 as taken, Orientation 6: the browser still decodes it and turns it.
    expect(image).to_have_js_property("naturalWidth", 8)
    expect(image).to_have_js_property("naturalHeight", 16)
    served = bob.request.get(server.http_url + image.get_attribute("src")).body()
    assert not [secret for secret in files.PHOTO_SECRETS if secret in served]


def test_a_text_file_is_a_download_link_with_its_name_and_size(two_people):
    ana, bob = two_people
    attach(ana, "notes.txt", files.TEXT, "text/plain")
    expect(ana.get_by_test_id("pending-attachment")).to_contain_text("notes.txt")
    ana.get_by_test_id("send").click()  # no text: the file is the message
    link = messages(bob).last.get_by_test_id("attachment-file")
    expect(link).to_contain_text("notes.txt")
    expect(link).to_contain_text(f"{len(files.TEXT)} B")
    expect(messages(bob).last.get_by_test_id("attachment-image")).to_have_count(0)
    with bob.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "notes.txt"
    with open(download.path(), "rb") as saved:
        assert saved.read() == files.TEXT


def test_a_disallowed_file_shows_the_reason_and_is_not_sent(two_people):
    ana, bob = two_people
    attach(ana, "innocent.png", files.SVG, "image/png")
    error = ana.get_by_test_id("attach-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("not accepted")
    expect(ana.get_by_test_id("pending-attachment")).to_have_count(0)
    send_message(ana, "only text")
    expect(messages(bob).last).to_contain_text("only text")
    expect(messages(bob).last.locator(".attachments")).to_have_count(0)
