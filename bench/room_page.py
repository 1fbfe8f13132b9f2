"""Scenario u1 of bench/run.py: the room page in Chromium, with a long history.

A room of `--u1-messages` messages (default 5,000; stored once through the write
path, kept across runs with --keep-db) is opened `--u1-opens` times in Debian's
Chromium (Playwright, 1280x800), each time measuring when the newest message is in
view (`performance.now()` from the page's own navigation start). Then the reader
scrolls back to the top of the list again and again, as a person would, until
`--u1-pages` older pages have loaded: each time, how long until the older messages
were there, and how far the message that was at the top moved (a jump; 0 px means
the reader keeps their place). Older code that only loads on the "Load older"
button gets the button pressed after a second without a load; that wait is not
counted in its load time. At the end: the messages in the page, its DOM size and
JavaScript heap.

Only `ours` targets (the tutorial has no web page).
"""

import statistics
import time

WATCH_NEWEST = """
(() => {
  const poll = () => {
    const items = document.querySelectorAll("#messages li[data-id]");
    const list = document.getElementById("messages");
    if (items.length && list) {
      const last = items[items.length - 1].getBoundingClientRect();
      const box = list.getBoundingClientRect();
      if (last.bottom <= box.bottom + 1 && last.top >= box.top - 1) {
        window.__newestVisibleAt = performance.now();
        return;
      }
    }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})();
"""

COUNT = "document.querySelectorAll('#messages li[data-id]').length"


def seed_messages(slug: str, count: int) -> int:
    """The room holds at least `count` messages (by its second member); returns how
    many it holds. Through the services, as any client's messages are stored."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from chat import services
    from chat.models import Message, Room

    room = Room.objects.get(slug=slug)
    author = get_user_model().objects.get(username="bench1")
    have = Message.objects.filter(room=room).count()
    started = time.monotonic()
    for index in range(have, count):
        services.message_create(
            room=room,
            author=author,
            body=f"history message {index}: " + "lorem ipsum dolor sit amet " * 3,
            client_id=f"u1-{index}",
        )
    if count > have:
        print(
            f"  stored {count - have} messages in {time.monotonic() - started:.1f} s",
            flush=True,
        )
    connection.close()
    return max(have, count)


def measure_target(server, cookie: str, options) -> dict:
    from playwright.sync_api import sync_playwright

    url = f"http://127.0.0.1:{server.port}/rooms/bench-r0/"
    opens, loads, jumps = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": cookie,
                    "url": f"http://127.0.0.1:{server.port}",
                }
            ]
        )
        context.add_init_script(WATCH_NEWEST)
        page = context.new_page()
        for _ in range(options.u1_opens):
            page.goto(url)
            page.wait_for_function(
                "window.__newestVisibleAt !== undefined", timeout=30_000
            )
            opens.append(page.evaluate("window.__newestVisibleAt"))
        page.wait_for_function(f"{COUNT} > 0")
        for _ in range(options.u1_pages):
            before = page.evaluate(COUNT)
            if page.evaluate("document.getElementById('load-older').hidden"):
                break  # the whole history is in the page
            top_id = page.evaluate(
                "(() => { const list = document.getElementById('messages');"
                " list.scrollTop = 0;"
                " return list.querySelector('li[data-id]').dataset.id; })()"
            )
            started = time.monotonic()
            try:
                page.wait_for_function(f"{COUNT} > {before}", timeout=1_000)
            except Exception:
                page.click("#load-older")  # older code: only the button loads
                started = time.monotonic()
                page.wait_for_function(f"{COUNT} > {before}", timeout=30_000)
            loads.append(1000 * (time.monotonic() - started))
            # Where the message that was at the top is now, against the list's top.
            page.wait_for_timeout(50)  # the page's own scroll correction, if any
            jumps.append(
                abs(
                    page.evaluate(
                        "(id) => { const list = document.getElementById('messages');"
                        " const item = list.querySelector(`li[data-id='${id}']`);"
                        " return item.getBoundingClientRect().top"
                        " - list.getBoundingClientRect().top; }",
                        top_id,
                    )
                )
            )
        end = page.evaluate(
            "({ messages: " + COUNT + ", nodes: document.getElementsByTagName('*')"
            ".length, heap_mb: performance.memory ?"
            " performance.memory.usedJSHeapSize / 2**20 : null })"
        )
        browser.close()
    return {
        "open_ms": [round(value, 1) for value in opens],
        "open_median_ms": round(statistics.median(opens), 1),
        "older_pages": len(loads),
        "older_load_median_ms": round(statistics.median(loads), 1) if loads else None,
        "older_load_max_ms": round(max(loads), 1) if loads else None,
        # The last pages load into the fullest page.
        "older_load_last10_median_ms": (
            round(statistics.median(loads[-10:]), 1) if loads else None
        ),
        "jump_max_px": round(max(jumps), 1) if jumps else None,
        "messages_in_page": end["messages"],
        "dom_nodes": end["nodes"],
        "js_heap_mb": round(end["heap_mb"], 1) if end["heap_mb"] else None,
    }
