// The live part of a room page: history over REST, live messages over the socket.
//
// Delivery rules (docs/protocol.md): the page remembers the newest message id it has
// shown and, after any disconnect, reconnects with jittered back-off and resubscribes
// with `since`, so nothing sent meanwhile is missed and nothing is shown twice.
// Unacknowledged sends stay in an outbox and are resent with the same client_id,
// which the server deduplicates. Message text is only ever set as text, never HTML.
(function () {
  "use strict";

  const chat = document.getElementById("chat");
  const room = chat.dataset.room;
  const historyUrl = chat.dataset.historyUrl;
  const list = document.getElementById("messages");
  const olderButton = document.getElementById("load-older");
  const form = document.getElementById("send");
  const input = document.getElementById("body");
  const connection = document.getElementById("connection");
  const me = Number(chat.dataset.userId);
  const canModerate =
    chat.dataset.staff === "true" || ["owner", "moderator"].includes(chat.dataset.role);

  const shown = new Map(); // message id -> <li>
  const outbox = new Map(); // client_id -> {body, element}
  let newestId = 0;
  let oldestId = null;
  let socket = null;
  let attempt = 0;
  let heartbeatTimer = null;
  let stopped = false;

  function setConnection(state, text) {
    connection.dataset.state = state;
    connection.textContent = text;
  }

  function formatTime(iso) {
    const date = new Date(iso);
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function fillMessage(element, message) {
    element.replaceChildren();
    element.dataset.id = String(message.id);
    element.dataset.clientId = message.client_id;
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = message.author.username;
    const body = document.createElement("span");
    body.className = "body";
    body.textContent = message.body;
    const time = document.createElement("time");
    time.dateTime = message.created_at;
    time.textContent = formatTime(message.created_at);
    element.append(author, body, time);
    if (message.edited_at) {
      const edited = document.createElement("span");
      edited.className = "edited";
      edited.textContent = "(edited)";
      element.append(edited);
    }
    if (canModerate || message.author.id === me) {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "delete";
      remove.dataset.testid = "delete";
      remove.title = "Delete this message";
      remove.textContent = "×";
      remove.addEventListener("click", () => deleteMessage(message.id));
      element.append(remove);
    }
  }

  // ---- moderation (REST, with the session and its CSRF token) -------------------

  function csrfToken() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function api(method, url, body) {
    const response = await fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      let detail = `${response.status}`;
      try {
        detail = (await response.json()).detail || detail;
      } catch (error) {
        // not JSON: keep the status
      }
      showNotice(`Refused: ${detail}`);
    }
    return response;
  }

  function deleteMessage(id) {
    // The broadcast `message.deleted` removes it here and on every open page.
    api("DELETE", chat.dataset.messagesUrl.replace(/0\/$/, `${id}/`));
  }

  async function loadMembers() {
    const panel = document.getElementById("moderation");
    const list = document.getElementById("members");
    const response = await fetch(chat.dataset.membersUrl, { credentials: "same-origin" });
    if (!response.ok) {
      return;
    }
    list.replaceChildren();
    for (const member of await response.json()) {
      const item = document.createElement("li");
      item.dataset.testid = `member-${member.user.username}`;
      const name = document.createElement("span");
      name.textContent = `${member.user.username} (${member.role})`;
      item.append(name);
      if (member.muted_until) {
        const muted = document.createElement("span");
        muted.className = "muted";
        muted.textContent = " muted";
        item.append(muted);
      }
      if (member.user.id !== me && member.role !== "owner") {
        const base = `${chat.dataset.membersUrl}${member.user.id}/`;
        const actions = [
          ["Mute 10 min", () => api("POST", `${base}mute/`, { minutes: 10, reason: "" })],
          ["Unmute", () => api("POST", `${base}unmute/`)],
          ["Ban", () => api("POST", `${base}ban/`, { reason: "" })],
        ];
        if (chat.dataset.role === "owner" || chat.dataset.staff === "true") {
          const next = member.role === "moderator" ? "member" : "moderator";
          actions.push([`Make ${next}`, () => api("PATCH", base, { role: next })]);
        }
        for (const [label, run] of actions) {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = label;
          button.dataset.testid = `${label.split(" ")[0].toLowerCase()}-${member.user.username}`;
          button.addEventListener("click", async () => {
            await run();
            loadMembers();
          });
          item.append(button);
        }
      }
      list.append(item);
    }
    panel.hidden = false;
  }

  function insertInOrder(element, id) {
    // Messages usually arrive newest last; walk back from the end to find the slot.
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

  function showMessage(message) {
    if (shown.has(message.id)) {
      return;
    }
    const pending = outbox.get(message.client_id);
    if (pending && message.author.id === Number(chat.dataset.userId)) {
      pending.element.remove();
      outbox.delete(message.client_id);
    }
    const element = document.createElement("li");
    element.dataset.testid = "message";
    fillMessage(element, message);
    insertInOrder(element, message.id);
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
      throw new Error(`history request failed: ${response.status}`);
    }
    return response.json();
  }

  async function loadLatest() {
    const page = await fetchHistory({ limit: 50 });
    page.results.slice().reverse().forEach(showMessage);
    olderButton.hidden = page.next === null;
    scrollToEnd();
  }

  async function loadOlder() {
    if (oldestId === null) {
      return;
    }
    olderButton.disabled = true;
    try {
      const page = await fetchHistory({ before: oldestId, limit: 50 });
      const height = list.scrollHeight;
      page.results.forEach(showMessage);
      list.scrollTop += list.scrollHeight - height;
      olderButton.hidden = page.next === null;
    } finally {
      olderButton.disabled = false;
    }
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function sendOutboxEntry(clientId, entry) {
    send({ type: "message.send", room: room, body: entry.body, client_id: clientId });
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    return `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }

  function showNotice(text) {
    const element = document.createElement("li");
    element.className = "notice";
    element.dataset.testid = "notice";
    element.textContent = text;
    list.append(element);
    scrollToEnd();
  }

  function showNotification(data) {
    // The server's push carries any JSON object; a `text` field is shown as is,
    // anything else as its JSON. Always as text, never as HTML.
    const area = document.getElementById("notifications");
    const note = document.createElement("div");
    note.className = "notification";
    note.dataset.testid = "notification";
    note.setAttribute("role", "status");
    note.textContent = typeof data.text === "string" ? data.text : JSON.stringify(data);
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", "dismiss");
    close.addEventListener("click", () => note.remove());
    note.append(close);
    area.append(note);
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "hello":
        attempt = 0;
        startHeartbeat(frame.heartbeat);
        send({ type: "subscribe", room: room, since: newestId });
        break;
      case "subscribed":
        setConnection("online", "online");
        outbox.forEach((entry, clientId) => sendOutboxEntry(clientId, entry));
        markRead();
        break;
      case "message.new":
        if (frame.room === room) {
          showMessage(frame.message);
          scrollToEnd();
          markRead();
        }
        break;
      case "message.edited": {
        const element = shown.get(frame.message.id);
        if (element) {
          fillMessage(element, frame.message);
        }
        break;
      }
      case "message.restored":
        if (frame.room === room) {
          showMessage(frame.message);
        }
        break;
      case "message.deleted": {
        const element = shown.get(frame.id);
        if (element) {
          element.remove();
          shown.delete(frame.id);
        }
        break;
      }
      case "room.removed":
        if (frame.room === room) {
          stopped = true;
          setConnection("offline", `removed from room (${frame.reason})`);
          socket.close();
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
        if (frame.ref && outbox.has(frame.ref)) {
          const entry = outbox.get(frame.ref);
          outbox.delete(frame.ref);
          entry.element.classList.add("failed");
          entry.element.title = frame.detail;
        }
        showNotice(frame.detail);
        break;
      case "notify":
        showNotification(frame.data);
        break;
      case "presence":
        // Someone came or went: a moderator's member list may have changed.
        if (canModerate && frame.room === room) {
          loadMembers();
        }
        break;
      default:
        break; // pong, typing: nothing to show yet
    }
  }

  function markRead() {
    // The read marker only moves forward on the server; send it when seen.
    if (document.visibilityState === "visible" && newestId > 0) {
      send({ type: "read", room: room, last_id: newestId });
    }
  }

  document.addEventListener("visibilitychange", markRead);

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
    setConnection("connecting", attempt ? "reconnecting…" : "connecting…");
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/chat/`);
    socket.addEventListener("message", (event) => {
      try {
        onFrame(JSON.parse(event.data));
      } catch (error) {
        console.error("bad frame from server", error);
      }
    });
    socket.addEventListener("close", (event) => {
      stopHeartbeat();
      if (stopped) {
        return;
      }
      if (event.code === 4401 || event.code === 4403) {
        stopped = true;
        setConnection("offline", "signed out: reload the page to sign in again");
        return;
      }
      // Exponential back-off with full jitter, capped, so that a restarted server is
      // not hit by every client at the same instant.
      const base = Math.min(30000, 500 * 2 ** attempt);
      const delay = base / 2 + Math.random() * base;
      attempt += 1;
      setConnection("offline", `offline: reconnecting in ${Math.ceil(delay / 1000)} s`);
      setTimeout(connect, delay);
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = input.value.trim();
    if (!body) {
      return;
    }
    const clientId = newClientId();
    const element = document.createElement("li");
    element.className = "pending";
    element.textContent = body;
    list.append(element);
    scrollToEnd();
    outbox.set(clientId, { body: body, element: element });
    sendOutboxEntry(clientId, outbox.get(clientId));
    input.value = "";
  });

  olderButton.addEventListener("click", loadOlder);

  // Exposed for tests and debugging: the socket can be dropped to exercise reconnect.
  window.chatRoom = {
    get socket() {
      return socket;
    },
    get newestId() {
      return newestId;
    },
  };

  loadLatest()
    .catch((error) => showNotice(`Could not load history: ${error.message}`))
    .finally(connect);
  if (canModerate) {
    loadMembers();
  }
})();
