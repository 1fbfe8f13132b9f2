// Telling the user what happens outside the room they are looking at, on every
// chat page: a mention elsewhere becomes a toast linking to the message, a server
// `notify` push a toast of its own, and, once the user has turned them on, a
// mention or a direct message that arrives while the tab is hidden becomes a
// desktop notification (the browser's Notification API). The permission is asked
// for only when the user presses the sidebar's "Desktop notifications" button,
// never on page load. Everything is set as text, never HTML.
//
// The decisions (what to show, which link) are pure functions, unit-tested in
// tests/browser/test_notifications_in_browser.py; installNotifications wires them
// to the page's socket (static/chat/app.js).

import { gettext, interpolate } from "./ui.js";

const PREFERENCE_KEY = "chat.desktopNotifications"; // "off" once turned off here
const EXCERPT_LENGTH = 140;

// `#message-42` -> 42; anything else -> null.
export function messageIdFromHash(hash) {
  const match = /^#message-(\d{1,15})$/.exec(hash || "");
  return match ? Number(match[1]) : null;
}

// The room page's address for a message, from a room address template holding
// `-slug-` (templates/base.html's data-room-url).
export function messageLink(roomUrlTemplate, slug, messageId) {
  const room = roomUrlTemplate.replace("-slug-", encodeURIComponent(slug));
  return `${room}#message-${messageId}`;
}

// Whether the desktop-notifications button shows, and whether it is pressed:
// hidden where the browser has no notifications or the user blocked them there.
export function desktopSwitch(permission, preference) {
  if (permission === undefined || permission === "denied") {
    return { visible: false, on: false };
  }
  return { visible: true, on: permission === "granted" && preference !== "off" };
}

// The desktop notification a frame deserves, or null. `facts`: me (user id),
// hidden (the tab), on (desktopSwitch's), direct (slugs of direct conversations),
// notified (message ids already notified: a direct message that mentions me comes
// as a `mention` and as a `message.new`).
export function desktopNotice(frame, facts) {
  if (!facts.on || !facts.hidden) {
    return null;
  }
  const message = frame.message;
  if (!message || message.author.id === facts.me || facts.notified.has(message.id)) {
    return null;
  }
  const names = { username: message.author.username, room: `#${frame.room_name}` };
  let title;
  if (frame.type === "mention") {
    title = interpolate(gettext("%(username)s mentioned you in %(room)s"), names, true);
  } else if (frame.type === "message.new" && !frame.replay && facts.direct.has(frame.room)) {
    title = interpolate(gettext("%(username)s sent you a message"), names, true);
  } else {
    return null;
  }
  return {
    title: title,
    body: excerpt(message.body),
    tag: `message-${message.id}`,
    room: frame.room,
    messageId: message.id,
  };
}

function excerpt(body) {
  const text = body || "";
  return text.length > EXCERPT_LENGTH ? `${text.slice(0, EXCERPT_LENGTH - 1)}…` : text;
}

// ---- the page ------------------------------------------------------------------

export function installNotifications(app, { pageRoom }) {
  const roomUrl = document.body.dataset.roomUrl || "/rooms/-slug-/";
  const supported = "Notification" in window;
  const notified = new Set();
  const button = document.getElementById("desktop-notifications");

  function area() {
    let element = document.getElementById("notifications");
    if (!element) {
      element = document.createElement("div");
      element.id = "notifications";
      element.className = "notifications";
      element.setAttribute("aria-live", "polite");
      document.body.append(element);
    }
    return element;
  }

  function toast(className, testid, parts) {
    const note = document.createElement("div");
    note.className = className;
    note.dataset.testid = testid;
    note.setAttribute("role", "status");
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", gettext("dismiss"));
    close.addEventListener("click", () => note.remove());
    note.append(...parts, close);
    area().append(note);
    return note;
  }

  // "ana mentioned you in #room", the room's name linking to the message.
  function showMention(frame) {
    const link = document.createElement("a");
    link.href = messageLink(roomUrl, frame.room, frame.message.id);
    link.textContent = `#${frame.room_name}`;
    link.dataset.testid = "mention-link";
    // The link goes where the translation puts %(room)s.
    const [before, after = ""] = gettext("%(username)s mentioned you in %(room)s").split(
      "%(room)s",
    );
    const username = { username: frame.message.author.username };
    const note = toast("notification mention-notification", "mention-notification", [
      document.createTextNode(interpolate(before, username, true)),
      link,
      document.createTextNode(interpolate(after, username, true)),
    ]);
    const quote = document.createElement("div");
    quote.className = "excerpt";
    quote.textContent = excerpt(frame.message.body);
    note.append(quote);
  }

  // The server's push carries any JSON object; a `text` field is shown as is,
  // anything else as its JSON.
  function showPush(data) {
    const text = typeof data.text === "string" ? data.text : JSON.stringify(data);
    toast("notification", "notification", [document.createTextNode(text)]);
  }

  function preference() {
    try {
      return window.localStorage.getItem(PREFERENCE_KEY);
    } catch {
      return null; // storage refused (a private window's policy): the default
    }
  }

  function setPreference(value) {
    try {
      window.localStorage.setItem(PREFERENCE_KEY, value);
    } catch {
      // not remembered past this page; nothing else to do
    }
  }

  function switchState() {
    return desktopSwitch(supported ? Notification.permission : undefined, preference());
  }

  function showSwitch() {
    if (!button) {
      return;
    }
    const state = switchState();
    button.hidden = !state.visible;
    button.setAttribute("aria-pressed", String(state.on));
    button.title = state.on
      ? gettext("Desktop notifications are on for mentions and direct messages")
      : gettext("Get a desktop notification for mentions and direct messages while this tab is hidden");
  }

  async function toggleDesktop() {
    if (Notification.permission === "default") {
      const answer = await Notification.requestPermission();
      if (answer === "granted") {
        setPreference("on");
      }
    } else if (Notification.permission === "granted") {
      setPreference(switchState().on ? "off" : "on");
    }
    showSwitch();
  }

  function directRooms() {
    const slugs = new Set();
    for (const item of document.querySelectorAll('[data-list="direct"] [data-room-slug]')) {
      slugs.add(item.dataset.roomSlug);
    }
    return slugs;
  }

  function notifyDesktop(frame) {
    const notice = desktopNotice(frame, {
      me: app.me,
      hidden: document.visibilityState === "hidden",
      on: supported && switchState().on,
      direct: directRooms(),
      notified: notified,
    });
    if (!notice) {
      return;
    }
    notified.add(notice.messageId);
    const shown = new Notification(notice.title, {
      body: notice.body,
      tag: notice.tag,
      icon: document.querySelector('link[rel="icon"]')?.href,
    });
    shown.addEventListener("click", () => {
      window.focus();
      window.location.assign(messageLink(roomUrl, notice.room, notice.messageId));
      shown.close();
    });
  }

  app.listen((kind, frame) => {
    if (kind !== "frame") {
      return;
    }
    if (frame.type === "mention" && frame.room !== pageRoom) {
      showMention(frame); // in the open room the message itself shows it
    } else if (frame.type === "notify") {
      showPush(frame.data);
    }
    if (frame.type === "mention" || frame.type === "message.new") {
      notifyDesktop(frame);
    }
  });
  if (button && supported) {
    button.addEventListener("click", toggleDesktop);
  }
  showSwitch();
}
