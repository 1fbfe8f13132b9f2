// The live part of a room page: the room's socket traffic and what it changes.
// static/chat/app.js owns the connection and hands frames over; this module
// subscribes, keeps the outbox of sends not yet acknowledged and the read marker,
// shows the connection's state, and hands each frame to the part of the pane it
// concerns: the timeline (timeline.js), a message's actions (message_actions.js),
// the composer (composer.js), the members panel (moderation.js).
//
// Delivery rules (docs/protocol.md): the page remembers the newest message id it has
// shown and, after any disconnect, reconnects with jittered back-off and resubscribes
// with `since`, so nothing sent meanwhile is missed and nothing is shown twice.
// Unacknowledged sends stay in an outbox and are resent with the same client_id,
// which the server deduplicates. Message text is only ever set as text, never HTML.
import { createComposer } from "./composer.js";
import { createMessageActions } from "./message_actions.js";
import { createModeration } from "./moderation.js";
import { createTimeline } from "./timeline.js";
import { apiRequest, gettext, interpolate, smallButton } from "./ui.js";

(function () {
  "use strict";

  const REMOVAL_REASONS = {
    left: gettext("left"),
    removed: gettext("removed"),
    banned: gettext("banned"),
  };

  const chat = document.getElementById("chat");
  const room = chat.dataset.room;
  const list = document.getElementById("messages");
  const connection = document.getElementById("connection");
  const me = Number(chat.dataset.userId);
  const canModerate =
    chat.dataset.staff === "true" || ["owner", "moderator"].includes(chat.dataset.role);

  const outbox = new Map(); // client_id -> {body, element, attachments}
  let historyLoaded = false;
  let everSubscribed = false; // a later `subscribed` follows a reconnect
  let connected = false; // the socket said hello and is open
  let stopped = false; // removed from the room: this pane takes no more frames

  const emptyNote = document.getElementById("empty-room");

  // Once history has loaded: a room without messages says what to do.
  function showWhetherEmpty() {
    emptyNote.hidden = list.querySelector("li") !== null;
  }

  const reconnectButton = document.getElementById("reconnect-now");
  let countdownTimer = null;

  function setConnection(state, text) {
    clearInterval(countdownTimer);
    countdownTimer = null;
    reconnectButton.hidden = true;
    connection.dataset.state = state;
    connection.textContent = text;
  }

  // Offline until `retryAt`: say so, counting down each second, with a button that
  // reconnects at once.
  function showOffline(retryAt) {
    const tick = () => {
      const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
      connection.textContent = interpolate(
        gettext("offline: reconnecting in %(seconds)s s"),
        { seconds: seconds },
        true,
      );
    };
    setConnection("offline", "");
    tick();
    countdownTimer = setInterval(tick, 1000);
    reconnectButton.hidden = false;
  }

  reconnectButton.addEventListener("click", () => window.chatApp.reconnectNow());

  const api = (method, url, body) =>
    apiRequest(method, url, body, (detail) =>
      timeline.notice(interpolate(gettext("Refused: %(detail)s"), { detail: detail }, true)),
    );
  // The parts of the pane (each its own module); `ctx` ties them together.
  const ctx = {
    chat: chat,
    list: list,
    me: me,
    canModerate: canModerate,
    send: send,
    api: api,
    showNotice: (text) => timeline.notice(text),
    // A message of mine that the server stored: no longer pending here.
    beforeShow(message) {
      const pending = outbox.get(message.client_id);
      if (pending && message.author.id === me) {
        pending.element.remove();
        outbox.delete(message.client_id);
      }
    },
  };
  const timeline = createTimeline(ctx);
  const actions = createMessageActions({ ...ctx, shown: timeline.shown, render: timeline.render });
  ctx.decorate = actions.decorate;
  const moderation = createModeration(ctx);
  const composer = createComposer({
    chat: chat,
    onSend({ body, attachments }) {
      const clientId = newClientId();
      const element = document.createElement("li");
      element.className = "pending";
      element.textContent = body;
      for (const attachment of attachments) {
        element.append(` 📎 ${attachment.name}`); // the pending line names them
      }
      list.append(element);
      timeline.scrollToEnd();
      const entry = {
        body: body,
        element: element,
        attachments: attachments.map((attachment) => attachment.id),
      };
      outbox.set(clientId, entry);
      sendOutboxEntry(clientId, entry);
    },
  });

  function send(frame) {
    return window.chatApp.send(frame);
  }

  function subscribeWhenReady() {
    // Resume after the newest message shown: only once history has loaded (else
    // `since` 0 would replay the room) and the socket is open.
    if (historyLoaded && connected && !stopped) {
      send({ type: "subscribe", room: room, since: timeline.newestId });
    }
  }

  function sendOutboxEntry(clientId, entry) {
    const frame = { type: "message.send", room: room, body: entry.body, client_id: clientId };
    if (entry.attachments && entry.attachments.length > 0) {
      frame.attachments = entry.attachments;
    }
    send(frame);
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    return `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }

  // A send the server refused (muted, too fast, too long...) stays where it was
  // written, with the reason and a choice: send it again, or remove it.
  function showRefused(clientId, entry, detail) {
    const element = entry.element;
    element.classList.add("failed");
    const why = document.createElement("span");
    why.className = "refusal";
    why.dataset.testid = "refusal";
    why.setAttribute("role", "alert");
    why.textContent = detail;
    const retry = smallButton("retry", "retry-send", gettext("Retry"), gettext("Send it again"), () => {
      why.remove();
      element.classList.remove("failed");
      outbox.set(clientId, entry);
      sendOutboxEntry(clientId, entry);
    });
    const remove = smallButton(
      "remove",
      "remove-send",
      gettext("Remove"),
      gettext("Remove this unsent message"),
      () => element.remove(),
    );
    why.append(" ", retry, " ", remove);
    element.append(why);
    timeline.scrollToEnd();
  }

  function onFrame(frame) {
    if (stopped) {
      return;
    }
    switch (frame.type) {
      case "hello":
        connected = true;
        subscribeWhenReady();
        break;
      case "subscribed":
        if (frame.room !== room) {
          break;
        }
        setConnection("online", gettext("online"));
        outbox.forEach((entry, clientId) => sendOutboxEntry(clientId, entry));
        markRead();
        if (everSubscribed) {
          timeline.refreshShown().catch((error) => console.error("refresh failed", error));
        }
        everSubscribed = true;
        break;
      case "message.new":
        if (frame.room === room) {
          const follow = timeline.nearEnd() || frame.message.author.id === me;
          timeline.show(frame.message);
          if (follow) {
            timeline.scrollToEnd();
          }
          markRead();
        }
        break;
      case "message.edited": {
        const element = timeline.shown.get(frame.message.id);
        if (element) {
          timeline.render(element, frame.message);
        }
        break;
      }
      case "message.restored":
        if (frame.room === room) {
          timeline.show(frame.message);
        }
        break;
      case "message.deleted":
        timeline.remove(frame.id);
        break;
      case "reaction.updated":
        if (frame.room === room) {
          actions.applyReactionUpdate(frame);
        }
        break;
      case "member.muted":
        if (frame.room === room) {
          composer.mute(frame.muted_until ? new Date(frame.muted_until) : null, frame.reason || "");
        }
        break;
      case "room.removed":
        if (frame.room === room) {
          stopped = true;
          composer.removed(frame.reason);
          const reason = REMOVAL_REASONS[frame.reason] || frame.reason;
          setConnection(
            "offline",
            interpolate(gettext("removed from room (%(reason)s)"), { reason: reason }, true),
          );
        }
        break;
      case "error":
        if (frame.code === "server_error" && frame.ref && outbox.has(frame.ref)) {
          // Nothing was stored: try again with the same client_id, which the
          // server deduplicates should an earlier attempt have succeeded after all.
          const ref = frame.ref;
          setTimeout(() => {
            if (outbox.has(ref)) {
              sendOutboxEntry(ref, outbox.get(ref));
            }
          }, 1000 + Math.random() * 1000);
          break;
        }
        if (frame.code === "muted" && frame.muted_until) {
          composer.mute(new Date(frame.muted_until));
        }
        if (frame.ref && outbox.has(frame.ref)) {
          const entry = outbox.get(frame.ref);
          outbox.delete(frame.ref);
          // A mute is said as the composer says it (in the viewer's time zone).
          const muted = frame.code === "muted" && frame.muted_until;
          showRefused(frame.ref, entry, muted ? composer.text : frame.detail);
          break; // the refused message itself says why
        }
        timeline.notice(frame.detail);
        break;
      case "presence":
        // Someone came or went: a moderator's member list may have changed.
        if (canModerate && frame.room === room) {
          moderation.loadMembers();
        }
        break;
      default:
        break; // pong, typing (typing.js), mention and notify (notifications.js)
    }
  }

  let readSentFor = 0;
  let readTimer = null;

  function markRead() {
    // The read marker only moves forward on the server; send it when seen, at most
    // about once a second in a busy room (each moved marker updates every tab).
    const newestId = timeline.newestId;
    if (document.visibilityState !== "visible" || newestId <= readSentFor) {
      return;
    }
    if (readTimer === null) {
      readTimer = setTimeout(() => {
        readTimer = null;
        const newest = timeline.newestId;
        if (document.visibilityState === "visible" && newest > readSentFor) {
          if (send({ type: "read", room: room, last_id: newest })) {
            readSentFor = newest;
          }
        }
      }, readSentFor === 0 ? 0 : 1000);
    }
  }

  document.addEventListener("visibilitychange", markRead);

  function onConnection(change) {
    if (change.state === "connecting") {
      connected = false;
      setConnection(
        "connecting",
        change.attempt ? gettext("reconnecting…") : gettext("connecting…"),
      );
    } else if (change.state === "signed-out") {
      connected = false;
      setConnection("offline", gettext("signed out: reload the page to sign in again"));
    } else if (change.state === "offline") {
      connected = false;
      showOffline(change.retryAt);
    }
  }

  // Exposed for tests and debugging: the socket can be dropped to exercise reconnect.
  window.chatRoom = {
    get socket() {
      return window.chatApp.socket;
    },
    get newestId() {
      return timeline.newestId;
    },
  };

  window.chatApp.listen((kind, payload) =>
    kind === "frame" ? onFrame(payload) : onConnection(payload)
  );
  timeline
    .loadLatest()
    .then(timeline.jumpToHash)
    .catch((error) =>
      timeline.notice(
        interpolate(gettext("Could not load history: %(error)s"), { error: error.message }, true),
      ),
    )
    .finally(() => {
      historyLoaded = true;
      showWhetherEmpty();
      new MutationObserver(showWhetherEmpty).observe(list, { childList: true });
      subscribeWhenReady();
    });
  if (canModerate) {
    moderation.loadMembers();
  }
})();
