"""Mentions and direct messages reach the user wherever they are, in real Chromium:
a mention toast on every chat page links to the message, a link to a message
(`#message-ID`: search results, toasts, desktop notifications) opens the room with
that message in view and marked, and desktop notifications, asked for only when the
user presses the sidebar's switch, arrive for mentions and direct messages while
the tab is hidden (static/chat/notifications.js).

The browser's Notification API shows nothing a test can see, so the desktop tests
replace it with a recorder (an init script) that also decides what the permission
prompt answers and whether the tab counts as hidden; everything else is the page's
own code against a live server."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    create_room,
    expect_online,
    messages,
    post_as,
    run_in_module,
    send_message,
    two_people_in_lobby,
)
from tests.servers import ChatServer

pytestmark = [pytest.mark.browser, pytest.mark.processes]

WIDTHS = [1280, 390]

# The page's Notification, replaced by one that records what it is asked to show.
# `__desktop` (sessionStorage, so it holds across the page's navigations): the
# permission, what the prompt answers, whether the tab is hidden.
RECORDING_NOTIFICATIONS = """
(() => {
  const stored = JSON.parse(sessionStorage.getItem("__desktop") || "{}");
  const state = Object.assign(
    { permission: "default", answer: "granted", hidden: false, asked: 0 }, stored);
  const save = () => sessionStorage.setItem("__desktop", JSON.stringify(state));
  window.__desktop = { state: state, shown: [], save: save };
  class RecordingNotification extends EventTarget {
    constructor(title, options) {
      super();
      const shown = { title: title, body: options.body, tag: options.tag };
      window.__desktop.shown.push(shown);
    }
    close() {}
    static get permission() { return state.permission; }
    static async requestPermission() {
      state.asked += 1;
      state.permission = state.answer;
      save();
      return state.permission;
    }
  }
  window.Notification = RecordingNotification;
  Object.defineProperty(document, "visibilityState", {
    configurable: true,
    get: () => (state.hidden ? "hidden" : "visible"),
  });
})();
"""


def desktop(page, **changes):
    """Change the recorder's state for this page and the next ones."""
    page.evaluate(
        "(changes) => { Object.assign(window.__desktop.state, changes);"
        " window.__desktop.save(); }",
        changes,
    )


def shown_notifications(page):
    return page.evaluate("window.__desktop.shown")


# ---- the client logic ---------------------------------------------------------------


def test_message_links_and_the_switch_follow_the_rules(browser, live_chat_server):
    page = browser.new_page()
    result = run_in_module(
        page,
        live_chat_server,
        "notifications.js",
        "return {"
        "  ids: ['#message-42', '#message-', '#message-4x', 'message-4', '',"
        "        '#message-1', '#message-99999999999999999']"
        "    .map(module.messageIdFromHash),"
        "  link: module.messageLink('/rooms/-slug-/', 'a b', 7),"
        "  switches: [[undefined, null], ['denied', null], ['default', null],"
        "             ['granted', null], ['granted', 'off'], ['granted', 'on']]"
        "    .map(([permission, preference]) =>"
        "      module.desktopSwitch(permission, preference)),"
        "};",
    )
    assert result["ids"] == [42, None, None, None, None, 1, None]
    assert result["link"] == "/rooms/a%20b/#message-7"
    assert result["switches"] == [
        {"visible": False, "on": False},  # no Notification API
        {"visible": False, "on": False},  # blocked in the browser
        {"visible": True, "on": False},  # not asked yet: pressing asks
        {"visible": True, "on": True},
        {"visible": True, "on": False},  # turned off here
        {"visible": True, "on": True},
    ]


def test_a_desktop_notice_is_for_mentions_and_direct_messages_to_a_hidden_tab(
    browser, live_chat_server
):
    page = browser.new_page()
    result = run_in_module(
        page,
        live_chat_server,
        "notifications.js",
        """
        const ana = { id: 2, username: "ana" };
        const message = (id, author, body) => ({ id: id, author: author, body: body });
        const facts = (changes) => Object.assign({
          me: 1, hidden: true, on: true, direct: new Set(["dm-1-2"]),
          notified: new Set(),
        }, changes);
        const mention = { type: "mention", room: "lobby", room_name: "Lobby",
                          message: message(10, ana, "@bob look") };
        const direct = { type: "message.new", room: "dm-1-2", room_name: "",
                         message: message(11, ana, "x".repeat(300)) };
        const notice = (frame, changes) => module.desktopNotice(frame, facts(changes));
        return {
          mention: notice(mention),
          direct: notice(direct),
          visible: notice(mention, { hidden: false }),
          off: notice(mention, { on: false }),
          mine: notice({ ...mention, message: message(12, { id: 1 }, "hi") }),
          room: notice({ ...direct, room: "lobby" }),
          replay: notice({ ...direct, replay: true }),
          twice: notice(direct, { notified: new Set([11]) }),
        };
        """,
    )
    assert result["mention"] == {
        "title": "ana mentioned you in #Lobby",
        "body": "@bob look",
        "tag": "message-10",
        "room": "lobby",
        "messageId": 10,
    }
    assert result["direct"]["title"] == "ana sent you a message"
    assert result["direct"]["body"] == "x" * 139 + "…"
    assert result["direct"]["tag"] == "message-11"
    # Not for a visible tab, when off, for one's own message, for another room's
    # message that does not mention, for a replay, or for a message already notified.
    for case in ("visible", "off", "mine", "room", "replay", "twice"):
        assert result[case] is None, case


# ---- on the pages -------------------------------------------------------------------


@pytest.fixture
def ana_and_bob(browser, live_chat_server: ChatServer):
    """ana creates 'lobby', which bob joins; both are signed in; bob's pages record
    desktop notifications instead of showing them."""
    ana, bob = two_people_in_lobby(browser, live_chat_server)
    bob.context.add_init_script(RECORDING_NOTIFICATIONS)
    return ana, bob


@pytest.mark.parametrize("width", WIDTHS)
def test_a_mention_toast_on_the_room_list_opens_the_message_in_context(
    ana_and_bob, live_chat_server, width
):
    ana, bob = ana_and_bob
    bob.set_viewport_size({"width": width, "height": 800})
    post_as("ana", "lobby", [f"earlier {i}" for i in range(80)])
    bob.goto(f"{live_chat_server.http_url}/")
    # The room list has no room pane: its socket is app.js's alone.
    bob.wait_for_function("window.chatApp && window.chatApp.socket?.readyState === 1")
    expect_online(ana)
    send_message(ana, "@bob the answer is here")
    post_as("ana", "lobby", [f"later {i}" for i in range(60)])

    note = bob.get_by_test_id("mention-notification")
    expect(note).to_contain_text("ana mentioned you in #Lobby")
    link = note.get_by_test_id("mention-link")
    expect(link).to_have_attribute("href", re.compile(r"^/rooms/lobby/#message-\d+$"))
    mentioned_id = int(link.get_attribute("href").rsplit("-", 1)[1])
    link.click()

    target = bob.locator(f"[data-testid=messages] li[data-id='{mentioned_id}']")
    expect(target).to_have_class(re.compile(r"\bhighlighted\b"))
    expect(target).to_be_in_viewport()
    expect(target).to_be_focused()
    expect(target.locator(".body")).to_have_text("@bob the answer is here")
    # Shown in context: the 60 later messages above the newest page were loaded
    # too, in order and without a gap.
    ids = messages(bob).evaluate_all("els => els.map(e => Number(e.dataset.id))")
    assert ids == sorted(ids) and ids == list(range(ids[0], ids[-1] + 1))
    assert ids[0] <= mentioned_id < ids[-1]


@pytest.mark.parametrize("width", WIDTHS)
def test_search_jumps_to_a_message_far_back_in_the_room(
    ana_and_bob, live_chat_server, width
):
    ana, bob = ana_and_bob
    bob.set_viewport_size({"width": width, "height": 800})
    post_as("ana", "lobby", ["the needle in the stack"])
    post_as("ana", "lobby", [f"hay {i}" for i in range(450)])
    bob.goto(f"{live_chat_server.http_url}/search/?q=needle")
    jump = bob.get_by_test_id("search-result").get_by_test_id("search-jump")
    expect(jump).to_have_text("Jump to message")
    jump.click()

    target = bob.locator("[data-testid=messages] li.highlighted")
    expect(target.locator(".body")).to_have_text("the needle in the stack")
    expect(target).to_be_in_viewport()
    # Every message from the needle to the newest is shown, once each.
    expect(messages(bob)).to_have_count(451, timeout=10_000)
    # A live message while bob reads far up does not take his place away.
    send_message(ana, "meanwhile, live")
    expect(messages(bob).last.locator(".body")).to_have_text("meanwhile, live")
    expect(target).to_be_in_viewport()


def test_a_link_to_a_message_no_longer_in_the_room_says_so(
    ana_and_bob, live_chat_server
):
    ana, bob = ana_and_bob
    send_message(ana, "still here")
    send_message(ana, "gone soon")
    expect(messages(ana)).to_have_count(2)
    gone = int(messages(ana).last.get_attribute("data-id"))
    csrf = next(c["value"] for c in ana.context.cookies() if c["name"] == "csrftoken")
    response = ana.request.delete(
        f"{live_chat_server.http_url}/api/v1/messages/{gone}/",
        headers={"X-CSRFToken": csrf},
    )
    assert response.status == 204
    bob.goto(f"{live_chat_server.http_url}/rooms/lobby/#message-{gone}")
    expect(bob.get_by_test_id("notice")).to_have_text(
        "That message is not in this room any more."
    )
    expect(messages(bob)).to_have_count(1)


def test_desktop_notifications_are_asked_for_then_come_for_mentions_and_directs(
    ana_and_bob, live_chat_server
):
    ana, bob = ana_and_bob
    create_room(bob, live_chat_server, "garden", "Garden")
    expect_online(bob)
    switch = bob.get_by_test_id("desktop-notifications")
    # Nothing is asked on page load: the switch waits to be pressed.
    expect(switch).to_have_attribute("aria-pressed", "false")
    assert bob.evaluate("window.__desktop.state.asked") == 0
    switch.click()
    expect(switch).to_have_attribute("aria-pressed", "true")
    assert bob.evaluate("window.__desktop.state.asked") == 1

    # A mention while the tab is shown: the toast, no desktop notification. Then
    # the tab is hidden and another mention comes on the same socket, after it: the
    # one recorded notification is the second's.
    expect_online(ana)
    send_message(ana, "@bob first, while you look")
    expect(bob.get_by_test_id("mention-notification")).to_have_count(1)
    desktop(bob, hidden=True)
    send_message(ana, "@bob second, while you are away")
    bob.wait_for_function("window.__desktop.shown.length > 0")
    assert shown_notifications(bob) == [
        {
            "title": "ana mentioned you in #Lobby",
            "body": "@bob second, while you are away",
            "tag": bob.evaluate("window.__desktop.shown[0].tag"),
        }
    ]
    assert re.fullmatch(r"message-\d+", shown_notifications(bob)[0]["tag"])

    # A direct message: one notification, though it also mentions him.
    ana.evaluate("window.chatApp.openDirect('bob')")
    expect(ana.get_by_test_id("direct-title")).to_have_text(re.compile("@bob"))
    expect_online(ana)
    bob.goto(ana.url)
    expect_online(bob)
    desktop(bob, hidden=True)
    send_message(ana, "@bob psst")
    bob.wait_for_function("window.__desktop.shown.length > 0")
    send_message(ana, "and one more")
    bob.wait_for_function("window.__desktop.shown.length > 1")
    titles = [shown["title"] for shown in shown_notifications(bob)]
    bodies = [shown["body"] for shown in shown_notifications(bob)]
    assert bodies == ["@bob psst", "and one more"]
    assert titles[1] == "ana sent you a message"

    # Turned off: the next direct message (after which one more mention comes) is
    # not notified, and neither is that mention.
    desktop(bob, hidden=False)
    bob.get_by_test_id("desktop-notifications").click()
    expect(bob.get_by_test_id("desktop-notifications")).to_have_attribute(
        "aria-pressed", "false"
    )
    desktop(bob, hidden=True)
    send_message(ana, "not notified")
    expect(messages(bob).last.locator(".body")).to_have_text("not notified")
    assert len(shown_notifications(bob)) == 2


def test_the_switch_hides_where_the_browser_blocks_notifications(
    ana_and_bob, live_chat_server
):
    _, bob = ana_and_bob
    bob.reload()
    desktop(bob, permission="denied")
    bob.reload()
    expect_online(bob)
    expect(bob.get_by_test_id("desktop-notifications")).to_be_hidden()
