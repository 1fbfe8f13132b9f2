// The page's one chat socket, and the sidebar of rooms and conversations it keeps live.
//
// Every signed-in chat page loads this first. It owns the connection (jittered
// reconnect, heartbeat) and hands every frame to the listeners that pages register
// (room.js for a room's pane). It subscribes to each room and conversation listed in
// the sidebar, except the room the page shows (room.js subscribes to that one with
// `since`), and keeps their unread badges: the count from `subscribed`, plus each
// later message by someone else, reset by `unread` frames when a marker moves in any
// tab. Names are only ever set as text, never HTML.
import {
  countText,
  freshBadge,
  titleWithUnread,
  withMention,
  withMessage,
  withoutMessage,
  withUnread,
} from "./badges.js";
import { reconnectDelay } from "./backoff.js";
import { setUnread } from "./favicon.js";
import { installNotifications } from "./notifications.js";
import { csrfToken } from "./ui.js";

(function () {
  "use strict";

  const body = document.body;
  const me = Number(body.dataset.userId);
  const sidebar = document.getElementById("sidebar");
  const pageRoom = document.getElementById("chat")?.dataset.room || null;
  const listeners = [];
  // slug -> {count, mentions, lastId, seen, seenMentions}: the server's counts as of
  // lastId, plus the ids of later messages (and mentions) counted here since.
  const badges = new Map();

  let socket = null;
  let attempt = 0;
  let heartbeatTimer = null;
  let reconnectTimer = null; // set while a reconnect waits
  let stopped = false;

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function emit(kind, payload) {
    for (const listener of listeners) {
      try {
        listener(kind, payload);
      } catch (error) {
        console.error("chat listener failed", error);
      }
    }
  }

  // ---- badges -----------------------------------------------------------------

  function sidebarRooms() {
    return sidebar ? Array.from(sidebar.querySelectorAll("[data-room-slug]")) : [];
  }

  function showBadge(slug) {
    const badge = badges.get(slug);
    const count = badge ? badge.count : 0;
    const mentions = badge ? badge.mentions : 0;
    for (const element of document.querySelectorAll("[data-unread-for]")) {
      if (element.dataset.unreadFor !== slug) {
        continue;
      }
      element.textContent = countText(count);
      element.hidden = count === 0;
    }
    for (const element of document.querySelectorAll("[data-mentions-for]")) {
      if (element.dataset.mentionsFor === slug) {
        element.textContent = `@${mentions}`;
        element.hidden = mentions === 0;
      }
    }
    let total = 0;
    badges.forEach((entry) => {
      total += entry.count;
    });
    document.title = titleWithUnread(document.title, total);
    setUnread(total);
  }

  function setBadge(slug, count, mentions, lastId) {
    badges.set(slug, freshBadge(count, mentions, lastId));
    showBadge(slug);
  }

  // A badge changed by one of badges.js's rules: kept and shown if it changed.
  function update(slug, change) {
    const badge = badges.get(slug);
    const next = badge && change(badge);
    if (next && next !== badge) {
      badges.set(slug, next);
      showBadge(slug);
    }
  }

  function beingRead(slug) {
    return slug === pageRoom && document.visibilityState === "visible";
  }

  function countMessage(slug, message) {
    if (!beingRead(slug)) {
      // (In the room being read, room.js moves the marker instead.)
      update(slug, (badge) => withMessage(badge, message, me));
    }
  }

  function countMention(frame) {
    // Sent to every socket of the user whether or not it is subscribed to the room.
    if (!beingRead(frame.room)) {
      update(frame.room, (badge) => withMention(badge, frame.message.id));
    }
  }

  function onUnread(frame) {
    badges.set(frame.room, withUnread(badges.get(frame.room), frame));
    showBadge(frame.room);
  }

  function forgetMessage(slug, id) {
    update(slug, (badge) => withoutMessage(badge, id));
  }

  // ---- the sidebar ----------------------------------------------------------------

  function addToSidebar(room) {
    if (!sidebar || sidebar.querySelector(`[data-room-slug="${CSS.escape(room.slug)}"]`)) {
      return;
    }
    const list = sidebar.querySelector(
      room.kind === "direct" ? "[data-list=direct]" : "[data-list=rooms]"
    );
    const item = document.createElement("li");
    item.dataset.roomSlug = room.slug;
    item.dataset.testid = `sidebar-${room.slug}`;
    const link = document.createElement("a");
    link.href = `/rooms/${encodeURIComponent(room.slug)}/`;
    link.textContent = room.kind === "direct" ? `@${room.peer.username}` : room.name;
    const badge = document.createElement("span");
    badge.className = "unread";
    badge.dataset.unreadFor = room.slug;
    badge.dataset.testid = `unread-${room.slug}`;
    badge.hidden = true;
    const mentions = document.createElement("span");
    mentions.className = "mention-count";
    mentions.dataset.mentionsFor = room.slug;
    mentions.dataset.testid = `sidebar-mentions-${room.slug}`;
    mentions.hidden = true;
    item.append(link, " ", badge, mentions);
    list.querySelector(".empty")?.remove();
    list.prepend(item);
  }

  function removeFromSidebar(slug) {
    sidebar?.querySelector(`[data-room-slug="${CSS.escape(slug)}"]`)?.remove();
    badges.delete(slug);
  }

  function subscribeSidebar() {
    for (const item of sidebarRooms()) {
      const slug = item.dataset.roomSlug;
      if (slug !== pageRoom) {
        send({ type: "subscribe", room: slug });
      }
    }
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "hello":
        attempt = 0;
        startHeartbeat(frame.heartbeat);
        subscribeSidebar();
        break;
      case "subscribed": {
        const mine = frame.room === pageRoom;
        setBadge(
          frame.room,
          mine ? 0 : frame.unread_count,
          mine ? 0 : frame.mention_count,
          frame.last_id
        );
        break;
      }
      case "mention":
        countMention(frame);
        break;
      case "message.new":
        if (!frame.replay) {
          countMessage(frame.room, frame.message);
        }
        break;
      case "message.deleted":
        forgetMessage(frame.room, frame.id);
        break;
      case "unread":
        onUnread(frame);
        break;
      case "room.added":
        addToSidebar(frame.room);
        if (frame.room.slug !== pageRoom) {
          send({ type: "subscribe", room: frame.room.slug });
        }
        break;
      case "room.removed":
        removeFromSidebar(frame.room);
        break;
      default:
        break;
    }
    emit("frame", frame);
  }

  // ---- the connection ---------------------------------------------------------------

  function startHeartbeat(seconds) {
    stopHeartbeat();
    // Well inside the server's limit of three silent heartbeats.
    heartbeatTimer = setInterval(() => send({ type: "ping" }), seconds * 1000);
  }

  function stopHeartbeat() {
    if (heartbeatTimer !== null) {
      clearInterval(heartbeatTimer);
      heartbeatTimer = null;
    }
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    emit("connection", { state: "connecting", attempt: attempt });
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/chat/`);
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (error) {
        console.error("bad frame from server", error);
        return;
      }
      onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      stopHeartbeat();
      if (stopped) {
        return;
      }
      if (event.code === 4401 || event.code === 4403) {
        stopped = true;
        emit("connection", { state: "signed-out" });
        return;
      }
      const delay = reconnectDelay(attempt);
      attempt += 1;
      reconnectTimer = setTimeout(reconnectNow, delay);
      emit("connection", { state: "offline", delay: delay, retryAt: Date.now() + delay });
    });
  }

  // Reconnect at once if a reconnect is waiting (the button, the browser coming
  // back online, the tab shown again); otherwise nothing.
  function reconnectNow() {
    if (reconnectTimer === null || stopped) {
      return;
    }
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    connect();
  }

  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      reconnectNow();
    }
  });

  // Start a conversation with someone: find or create it, then go there.
  async function openDirect(username) {
    const response = await fetch("/api/v1/direct/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ username: username }),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(answer.detail || String(response.status));
    }
    window.location.assign(`/rooms/${encodeURIComponent(answer.slug)}/`);
  }

  for (const item of sidebarRooms()) {
    const slug = item.dataset.roomSlug;
    setBadge(
      slug,
      Number(item.dataset.unread || 0),
      Number(item.dataset.mentions || 0),
      Number(item.dataset.lastId || 0)
    );
  }

  window.chatApp = {
    me: me,
    send: send,
    reconnectNow: reconnectNow,
    csrfToken: csrfToken,
    openDirect: openDirect,
    // listener(kind, payload): kind "frame" (a server frame) or "connection".
    listen(listener) {
      listeners.push(listener);
    },
    get socket() {
      return socket;
    },
    stop() {
      stopped = true;
      socket?.close();
    },
  };

  // Mention toasts, server pushes and desktop notifications (notifications.js).
  installNotifications(window.chatApp, { pageRoom: pageRoom });

  // Listeners register in the scripts after this one; connect once they have.
  window.addEventListener("DOMContentLoaded", connect);
})();
