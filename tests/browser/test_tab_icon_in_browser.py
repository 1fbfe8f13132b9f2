"""The tab's icon shows the unread count (static/chat/favicon.js): a red badge drawn
over the page's icon while something is unread, the plain icon once it is read."""

import pytest
from playwright.sync_api import expect

from tests.browser.pages import expect_online, send_message

pytestmark = [pytest.mark.browser, pytest.mark.processes]

ICON_HREF = "document.querySelector('link[rel=icon]').href"
# The colour at the badge's centre (top right) of the icon the tab shows.
BADGE_PIXEL = """async () => {
  const image = new Image();
  image.src = document.querySelector('link[rel=icon]').href;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 64;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0, 64, 64);
  return Array.from(context.getImageData(47, 6, 1, 1).data.slice(0, 3));
}"""


def test_the_tab_icon_counts_unread_messages_until_they_are_read(two_people):
    ana, bob = two_people
    plain = ana.evaluate(ICON_HREF)
    assert plain.endswith("/static/chat/icon.svg")
    bob.get_by_test_id("direct-username").fill("ana")
    bob.get_by_test_id("direct-open").get_by_role("button").click()
    expect(bob.get_by_test_id("direct-title")).to_have_text("@ana direct message")
    expect_online(bob)
    send_message(bob, "psst")
    slug = bob.evaluate("document.getElementById('chat').dataset.room")
    expect(ana.get_by_test_id(f"unread-{slug}")).to_have_text("1")
    ana.wait_for_function(f"{ICON_HREF}.startsWith('data:image/png')")
    red, green, blue = ana.evaluate(BADGE_PIXEL)
    assert red > 180 and green < 90 and blue < 90, (red, green, blue)  # the badge
    ana.get_by_test_id(f"sidebar-{slug}").get_by_role("link").click()
    expect(ana.get_by_test_id("messages")).to_contain_text("psst")
    ana.wait_for_function(f"{ICON_HREF}.endsWith('/static/chat/icon.svg')")
