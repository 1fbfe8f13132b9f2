// The room's timeline: its messages, newest at the bottom, in id order and without
// gaps. History comes over REST (the newest page, then older pages on demand, or
// as far back as a `#message-ID` link needs); live messages are handed in by the
// room's socket code (static/chat/room.js). Consecutive messages of one author
// group, days get a divider (grouping.js), the first unread message gets the
// "New" line (unread.js). Message text is only ever set as text, never HTML.
import { fillAttachments } from "./attachments.js";
import { avatarElement } from "./avatars.js";
import { dayLabel, grouping } from "./grouping.js";
import { messageIdFromHash } from "./notifications.js";
import { showMoment } from "./times.js";
import { gettext, interpolate } from "./ui.js";
import { unreadDivider } from "./unread.js";

// ctx: chat (the pane's element), list (the messages' <ol>), me, beforeShow(message)
// (the socket code settles its outbox), decorate(element, message) (the message's
// actions, static/chat/message_actions.js).
export function createTimeline(ctx) {
  const { chat, list, me } = ctx;
  const historyUrl = chat.dataset.historyUrl;
  const olderButton = document.getElementById("load-older");
  const shown = new Map(); // message id -> <li>
  let newestId = 0;
  let oldestId = null;

  function fillMessage(element, message) {
    element.replaceChildren();
    element.dataset.id = String(message.id);
    element.dataset.clientId = message.client_id;
    element.dataset.authorId = String(message.author.id);
    element.dataset.createdAt = message.created_at;
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = message.author.username;
    if (message.author.id !== me) {
      // A user's name starts a direct conversation with them.
      author.classList.add("clickable");
      author.title = interpolate(
        gettext("Message %(username)s directly"),
        { username: message.author.username },
        true,
      );
      author.dataset.testid = "author";
      author.addEventListener("click", () =>
        window.chatApp.openDirect(message.author.username).catch((error) =>
          showNotice(interpolate(gettext("Refused: %(detail)s"), { detail: error.message }, true))
        )
      );
    }
    const body = document.createElement("span");
    body.className = "body";
    fillBody(body, message);
    element.classList.toggle("mentions-me", mentionsMe(message));
    const time = document.createElement("time");
    showMoment(time, message.created_at);
    element.append(avatarElement(message.author), author, body, time);
    fillAttachments(element, message.attachments, keepInView);
    if (message.edited_at) {
      const edited = document.createElement("span");
      edited.className = "edited";
      edited.textContent = gettext("(edited)");
      element.append(edited);
    }
    ctx.decorate(element, message);
  }

  // Keep the newest message in view once a picture has its height.
  function keepInView(image) {
    if (list.scrollHeight - list.scrollTop - list.clientHeight < image.height + 60) {
      scrollToEnd();
    }
  }

  // ---- mentions -------------------------------------------------------------------

  // `@name` as chat/mentions.py reads it: username characters (letters, digits and
  // @ . + - _) not preceded by one, trailing punctuation dropped until a name fits.
  const MENTION = /(?<![\p{L}\p{M}\p{N}_.@+-])@([\p{L}\p{M}\p{N}_.@+-]+)/gu;
  const TRAILING = "._@+-";

  function mentionsMe(message) {
    return (message.mentions || []).some((user) => user.id === me);
  }

  function fillBody(element, message) {
    // The names the server resolved to members are highlighted; everything is
    // appended as text nodes, never parsed as HTML.
    const mentioned = new Map();
    for (const user of message.mentions || []) {
      mentioned.set(user.username.toLowerCase(), user);
    }
    const text = message.body;
    let position = 0;
    for (const match of mentioned.size ? text.matchAll(MENTION) : []) {
      let name = match[1];
      while (name && !mentioned.has(name.toLowerCase()) && TRAILING.includes(name.slice(-1))) {
        name = name.slice(0, -1);
      }
      const user = mentioned.get(name.toLowerCase());
      if (!name || !user) {
        continue;
      }
      const end = match.index + 1 + name.length;
      element.append(document.createTextNode(text.slice(position, match.index)));
      const span = document.createElement("span");
      span.className = user.id === me ? "mention me" : "mention";
      span.dataset.testid = "mention";
      span.textContent = text.slice(match.index, end);
      element.append(span);
      position = end;
    }
    element.append(document.createTextNode(text.slice(position)));
  }

  function insertInOrder(element, id) {
    // Older pages come oldest last, each older than everything shown: at the top.
    const first = list.firstElementChild;
    if (first?.dataset.id && id < Number(first.dataset.id)) {
      list.prepend(element);
      return;
    }
    // Live messages usually arrive newest last; walk back from the end to the slot.
    let after = list.lastElementChild;
    while (after && (after.classList.contains("pending") || Number(after.dataset.id) > id)) {
      after = after.previousElementSibling;
    }
    if (after) {
      after.after(element);
    } else {
      list.prepend(element);
    }
  }

  // ---- conversation layout: groups and day dividers (static/chat/grouping.js) ----

  function groupingFacts(element) {
    if (!element || !element.dataset.createdAt) {
      return null;
    }
    return {
      authorId: Number(element.dataset.authorId),
      createdAt: new Date(element.dataset.createdAt),
    };
  }

  // Whether the message continues the one before it, and the day's name on the
  // first of each day; for a message and the one after it, whose place changed.
  function regroup(...elements) {
    for (const element of elements) {
      const facts = groupingFacts(element);
      if (!facts) {
        continue;
      }
      const { newDay, continued } = grouping(
        groupingFacts(element.previousElementSibling),
        facts,
      );
      element.classList.toggle("continued", continued);
      if (newDay) {
        element.dataset.day = dayLabel(facts.createdAt);
      } else {
        delete element.dataset.day;
      }
    }
  }

  function showMessage(message) {
    if (shown.has(message.id)) {
      return;
    }
    ctx.beforeShow(message);
    const element = document.createElement("li");
    element.dataset.testid = "message";
    fillMessage(element, message);
    insertInOrder(element, message.id);
    regroup(element, element.nextElementSibling);
    shown.set(message.id, element);
    newestId = Math.max(newestId, message.id);
    oldestId = oldestId === null ? message.id : Math.min(oldestId, message.id);
  }

  function scrollToEnd() {
    list.scrollTop = list.scrollHeight;
  }

  async function fetchHistory(query) {
    const response = await fetch(`${historyUrl}?${new URLSearchParams(query)}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) {
      throw new Error(
        interpolate(
          gettext("history request failed: %(status)s"),
          { status: response.status },
          true,
        ),
      );
    }
    return response.json();
  }

  async function loadLatest() {
    const page = await fetchHistory({ limit: 50 });
    page.results.slice().reverse().forEach(showMessage);
    olderButton.hidden = page.next === null;
    scrollToEnd();
    placeUnreadDivider();
  }

  // "New messages": a line above the first message that came after the member's
  // read marker as it was when the page opened, and a "Jump to first unread" button
  // while that line is out of sight (or its message still in unloaded history).
  const readBefore = Number(chat.dataset.lastReadId || 0);
  const jumpButton = document.getElementById("jump-unread");
  let unreadLine = null; // the <li> under the line, once known

  function unreadFacts() {
    const facts = [];
    for (const [id, element] of shown) {
      facts.push({ id: id, authorId: Number(element.dataset.authorId) });
    }
    return unreadDivider(facts, readBefore, me, !olderButton.hidden);
  }

  function placeUnreadDivider() {
    if (unreadLine) {
      return;
    }
    const divider = unreadFacts();
    if (divider.id === null) {
      return;
    }
    jumpButton.hidden = false;
    if (!divider.settled) {
      return; // earlier unread messages may be in older history: the button loads it
    }
    unreadLine = shown.get(divider.id);
    unreadLine.classList.add("first-unread");
    unreadLine.dataset.unreadLabel = gettext("New");
    // Seen once it has been in view: the button has done its work.
    new IntersectionObserver((entries, observer) => {
      if (entries.some((entry) => entry.isIntersecting)) {
        jumpButton.hidden = true;
        observer.disconnect();
      }
    }, { root: list }).observe(unreadLine);
  }

  async function jumpToFirstUnread() {
    jumpButton.disabled = true;
    try {
      while (!unreadLine && !olderButton.hidden) {
        await loadOlder(); // which places the line once it is known
      }
      if (unreadLine) {
        unreadLine.scrollIntoView({ block: "center" });
      }
      jumpButton.hidden = true;
    } finally {
      jumpButton.disabled = false;
    }
  }

  async function refreshShown() {
    // `since` replays new messages only: edits, deletions and reactions made while
    // this page was offline are fetched with the newest page and applied to the
    // messages it covers.
    const page = await fetchHistory({ limit: 50 });
    if (!page.results.length) {
      return;
    }
    const fresh = new Map(page.results.map((message) => [message.id, message]));
    const newest = page.results[0].id;
    const oldest = page.results[page.results.length - 1].id;
    for (const [id, element] of shown) {
      if (id < oldest || id > newest || element.querySelector(".edit-field")) {
        continue; // outside the page, or being edited right now
      }
      const message = fresh.get(id);
      if (message) {
        fillMessage(element, message);
      } else {
        element.remove();
        shown.delete(id);
      }
    }
  }

  async function loadOlder(limit = 50) {
    if (oldestId === null) {
      return;
    }
    olderButton.disabled = true;
    try {
      const page = await fetchHistory({ before: oldestId, limit: limit });
      // The reader keeps their place: the message at the top of the view stays
      // where it is, though older ones go above it and it may lose its day line
      // or its author's name (it now continues an older message).
      const anchor = firstInView();
      const anchorTop = anchor?.getBoundingClientRect().top;
      page.results.forEach(showMessage);
      if (anchor) {
        list.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
      }
      olderButton.hidden = page.next === null;
      placeUnreadDivider();
    } finally {
      olderButton.disabled = false;
    }
  }

  // The topmost message (or notice) in view: under the list's top edge, or else
  // the first whose bottom is below it.
  function firstInView() {
    const box = list.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + 2);
    const item = hit?.closest("li");
    if (item && item.parentElement === list) {
      return item;
    }
    for (const element of list.children) {
      if (element.getBoundingClientRect().bottom > box.top) {
        return element;
      }
    }
    return null;
  }

  // Older history loads by itself as the reader nears the top of the list (the
  // button stays, for keyboards and as a fallback).
  const LOAD_OLDER_WITHIN_PX = 300;
  list.addEventListener(
    "scroll",
    () => {
      if (
        list.scrollTop < LOAD_OLDER_WITHIN_PX &&
        !olderButton.hidden &&
        !olderButton.disabled &&
        oldestId !== null
      ) {
        loadOlder().catch((error) => showNotice(error.message));
      }
    },
    { passive: true },
  );

  // ---- jump to a message: `#message-ID` (search results, mentions, notifications) --

  const JUMP_PAGE = 200; // the history API's largest page
  let highlighted = null;

  async function jumpToMessage(id) {
    // History stays contiguous from the newest message down: older pages are
    // loaded until the message is shown, or known not to be in this room.
    while (!shown.has(id) && !olderButton.hidden && oldestId !== null && oldestId > id) {
      await loadOlder(JUMP_PAGE);
    }
    const element = shown.get(id);
    if (!element) {
      showNotice(gettext("That message is not in this room any more."));
      return;
    }
    highlighted?.classList.remove("highlighted");
    highlighted = element;
    element.classList.add("highlighted");
    element.tabIndex = -1;
    element.scrollIntoView({ block: "center" });
    element.focus({ preventScroll: true });
  }

  function jumpToHash() {
    const id = messageIdFromHash(window.location.hash);
    if (id !== null) {
      jumpToMessage(id).catch((error) =>
        showNotice(
          interpolate(gettext("Could not load history: %(error)s"), { error: error.message }, true),
        ),
      );
    }
  }

  // Whether the newest message is in view: a new one then scrolls into view too;
  // someone reading further up keeps their place.
  function nearEnd() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function showNotice(text) {
    const element = document.createElement("li");
    element.className = "notice";
    element.dataset.testid = "notice";
    element.textContent = text;
    list.append(element);
    scrollToEnd();
  }

  // A message deleted: gone from here, its neighbours regrouped.
  function remove(id) {
    const element = shown.get(id);
    if (element) {
      const next = element.nextElementSibling;
      element.remove();
      shown.delete(id);
      regroup(next);
    }
  }

  olderButton.addEventListener("click", () => loadOlder());
  window.addEventListener("hashchange", jumpToHash);
  jumpButton.addEventListener("click", jumpToFirstUnread);

  return {
    shown: shown,
    get newestId() {
      return newestId;
    },
    render: fillMessage,
    show: showMessage,
    remove: remove,
    notice: showNotice,
    nearEnd: nearEnd,
    scrollToEnd: scrollToEnd,
    loadLatest: loadLatest,
    refreshShown: refreshShown,
    jumpToHash: jumpToHash,
  };
}
