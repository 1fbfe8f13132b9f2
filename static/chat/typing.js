// Who is typing in the open room, and telling the room when we are.
//
// Sending: a `typing` frame when the composer changes and holds text, at most once
// per TYPING_SEND_INTERVAL_MS (the server relays at most one per 2 s per socket and
// drops the rest, docs/protocol.md); none for the keystrokes of a message once sent.
// Showing: each `typing` frame marks its sender as typing for TYPING_SHOWN_MS, long
// enough for their next frame to refresh it while they keep typing; their message,
// or silence, ends it. Names are only ever set as text.

export const TYPING_SEND_INTERVAL_MS = 2000;
export const TYPING_SHOWN_MS = 6000;

export class Typists {
  constructor() {
    this.byId = new Map(); // user id -> {username, until}
  }

  seen(user, now) {
    this.byId.set(user.id, { username: user.username, until: now + TYPING_SHOWN_MS });
  }

  stopped(userId) {
    return this.byId.delete(userId);
  }

  names(now) {
    for (const [id, typist] of this.byId) {
      if (typist.until <= now) {
        this.byId.delete(id);
      }
    }
    return [...this.byId.values()].map((typist) => typist.username).sort();
  }

  // When the list next changes by itself (someone's time runs out), or null.
  nextExpiry() {
    let next = null;
    for (const typist of this.byId.values()) {
      if (next === null || typist.until < next) {
        next = typist.until;
      }
    }
    return next;
  }
}

export class TypingSender {
  constructor(send) {
    this.send = send; // () => bool: whether the frame went out
    this.lastSent = -Infinity;
  }

  changed(text, now) {
    if (text.trim() && now - this.lastSent >= TYPING_SEND_INTERVAL_MS && this.send()) {
      this.lastSent = now;
    }
  }

  // The message was sent: the next keystroke starts a new message, announced at once.
  messageSent() {
    this.lastSent = -Infinity;
  }
}

export function typingText(names, gettext, interpolate) {
  if (names.length === 0) {
    return "";
  }
  if (names.length === 1) {
    return interpolate(gettext("%(name)s is typing…"), { name: names[0] }, true);
  }
  if (names.length === 2) {
    return interpolate(
      gettext("%(first)s and %(second)s are typing…"),
      { first: names[0], second: names[1] },
      true,
    );
  }
  return gettext("Several people are typing…");
}

function setUpTyping() {
  const chat = document.getElementById("chat");
  const indicator = document.getElementById("typing");
  const input = document.getElementById("body");
  const form = document.getElementById("send");
  if (!chat || !indicator || !input || !window.chatApp) {
    return;
  }
  const room = chat.dataset.room;
  const me = Number(chat.dataset.userId);
  const typists = new Typists();
  const sender = new TypingSender(() => window.chatApp.send({ type: "typing", room: room }));
  let timer = null;

  function show() {
    const now = Date.now();
    indicator.textContent = typingText(typists.names(now), window.gettext, window.interpolate);
    clearTimeout(timer);
    const next = typists.nextExpiry();
    timer = next === null ? null : setTimeout(show, next - now);
  }

  input.addEventListener("input", () => sender.changed(input.value, Date.now()));
  form.addEventListener("submit", () => sender.messageSent());
  window.chatApp.listen((kind, frame) => {
    if (kind !== "frame" || frame.room !== room) {
      return;
    }
    if (frame.type === "typing" && frame.user.id !== me) {
      typists.seen(frame.user, Date.now());
      show();
    } else if (frame.type === "message.new" && typists.stopped(frame.message.author.id)) {
      show();
    }
  });
}

setUpTyping();
