// The live part of a room page: history over REST, live messages over the page's
// socket (static/chat/app.js owns the connection and hands frames over).
//
// Delivery rules (docs/protocol.md): the page remembers the newest message id it has
// shown and, after any disconnect, reconnects with jittered back-off and resubscribes
// with `since`, so nothing sent meanwhile is missed and nothing is shown twice.
// Unacknowledged sends stay in an outbox and are resent with the same client_id,
// which the server deduplicates. Message text is only ever set as text, never HTML.
//
// Strings are translated by Django's JavaScript catalog (the /jsi18n/ script in
// templates/base.html); if it failed to load, the page works in English.
import { avatarElement } from "./avatars.js";
import { emojiPopover, insertAt } from "./emoji.js";
import { composerState } from "./composer.js";
import { dayLabel, grouping } from "./grouping.js";
import { messageIdFromHash } from "./notifications.js";
import { showMoment } from "./times.js";
import { unreadDivider } from "./unread.js";

(function () {
  "use strict";

  const gettext = window.gettext || ((text) => text);
  const interpolate =
    window.interpolate ||
    ((format, values) => format.replace(/%\((\w+)\)s/g, (match, name) => String(values[name])));
  // Codes from the server shown to people: the code itself if it has no label.
  const ROLE_LABELS = {
    owner: gettext("owner"),
    moderator: gettext("moderator"),
    member: gettext("member"),
  };
  const REMOVAL_REASONS = {
    left: gettext("left"),
    removed: gettext("removed"),
    banned: gettext("banned"),
  };

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
    fillAttachments(element, message.attachments);
    if (message.edited_at) {
      const edited = document.createElement("span");
      edited.className = "edited";
      edited.textContent = gettext("(edited)");
      element.append(edited);
    }
    addEditsAndReactions(element, message);
  }

  // A message's actions (react, edit, its history, delete) are one toolbar shown on
  // hover or keyboard focus, or on a tap where there is no hover (a phone), not a
  // permanent row under every message.
  function messageActions(element) {
    const actions = document.createElement("span");
    actions.className = "actions";
    actions.dataset.testid = "message-actions";
    actions.setAttribute("role", "toolbar");
    actions.setAttribute("aria-label", gettext("Message actions"));
    actions.append(
      smallButton("add-reaction", "add-reaction", "☺+", gettext("Add a reaction"), () =>
        togglePalette(element)
      )
    );
    return actions;
  }

  list.addEventListener("click", (event) => {
    if (event.target.closest("button, a, textarea, input")) {
      return;
    }
    const item = event.target.closest("li[data-id]");
    for (const open of list.querySelectorAll("li.show-actions")) {
      if (open !== item) {
        open.classList.remove("show-actions");
      }
    }
    item?.classList.toggle("show-actions");
  });

  // ---- edits and reactions (socket frames; history over REST) -------------------
  //
  // Edits and reactions are sent as frames and shown when their broadcast comes
  // back (`message.edited`, `reaction.updated`), so every open page, this one
  // included, shows the same state. Refusals arrive as `error` frames (notices).

  const editWindowMs = Number(chat.dataset.editWindow || 0) * 1000;
  const PALETTE = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];
  const MAX_TIMER_MS = 2147483647; // setTimeout's limit

  function messageUrl(id) {
    return chat.dataset.messagesUrl.replace(/0\/$/, `${id}/`);
  }

  function smallButton(className, testid, text, title, onClick) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = className;
    button.dataset.testid = testid;
    button.textContent = text;
    button.title = title;
    button.addEventListener("click", onClick);
    return button;
  }

  function addEditsAndReactions(element, message) {
    element.chatMessage = message;
    const actions = messageActions(element);
    const editableFor = Date.parse(message.created_at) + editWindowMs - Date.now();
    if (message.author.id === me && editableFor > 0) {
      const edit = smallButton(
        "edit",
        "edit",
        gettext("Edit"),
        gettext("Edit this message"),
        () => startEditing(element)
      );
      actions.append(edit);
      // The server refuses edits after the window: stop offering them then.
      setTimeout(() => edit.remove(), Math.min(editableFor, MAX_TIMER_MS));
    }
    if (canModerate && message.edited_at) {
      actions.append(
        smallButton(
          "history-toggle",
          "history",
          gettext("history"),
          gettext("Earlier versions"),
          () => toggleHistory(element)
        )
      );
    }
    if (canModerate || message.author.id === me) {
      actions.append(
        smallButton("delete", "delete", "×", gettext("Delete this message"), () =>
          deleteMessage(message.id)
        )
      );
    }
    element.append(actions);
    const reactions = document.createElement("div");
    reactions.className = "reactions";
    reactions.dataset.testid = "reactions";
    element.append(reactions);
    renderReactions(element);
  }

  function startEditing(element) {
    const message = element.chatMessage;
    const body = element.querySelector(".body");
    if (!body) {
      return; // already editing
    }
    const field = document.createElement("textarea");
    field.className = "edit-field";
    field.dataset.testid = "edit-field";
    field.maxLength = 4000;
    field.rows = Math.min(6, message.body.split("\n").length);
    field.value = message.body;
    field.title = gettext("Enter saves, Shift+Enter starts a new line, Escape cancels");
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        fillMessage(element, element.chatMessage);
      } else if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        const text = field.value.trim();
        if (text && text !== element.chatMessage.body) {
          if (!send({ type: "message.edit", id: message.id, body: text })) {
            showNotice(gettext("Offline: the edit was not sent."));
          }
        }
        // The new text is shown when the server's `message.edited` arrives.
        fillMessage(element, element.chatMessage);
      }
    });
    body.replaceWith(field);
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);
  }

  async function toggleHistory(element) {
    const open = element.querySelector(".history");
    if (open) {
      open.remove();
      return;
    }
    const response = await api("GET", `${messageUrl(element.chatMessage.id)}revisions/`);
    if (!response.ok) {
      return; // api() has shown why
    }
    const panel = document.createElement("ol");
    panel.className = "history";
    panel.dataset.testid = "history-panel";
    for (const version of await response.json()) {
      const item = document.createElement("li");
      item.dataset.testid = "version";
      const when = document.createElement("time");
      showMoment(when, version.created_at);
      const text = document.createElement("span");
      text.className = "version-body";
      text.textContent = version.body;
      item.append(when, text);
      if (version.replaced_at === null) {
        item.append(` ${gettext("(current)")}`);
      }
      panel.append(item);
    }
    element.querySelector(".history")?.remove(); // a second click while loading
    element.append(panel);
  }

  function renderReactions(element) {
    const message = element.chatMessage;
    const area = element.querySelector(".reactions");
    if (!area) {
      return;
    }
    area.replaceChildren();
    for (const group of message.reactions || []) {
      const mine = group.users.some((user) => user.id === me);
      const chip = smallButton(
        mine ? "reaction mine" : "reaction",
        "reaction",
        `${group.emoji} ${group.count}`,
        group.users.map((user) => user.username).join(", "),
        () =>
          send({
            type: mine ? "reaction.remove" : "reaction.add",
            message_id: message.id,
            emoji: group.emoji,
          })
      );
      chip.dataset.emoji = group.emoji;
      chip.setAttribute("aria-pressed", mine ? "true" : "false");
      area.append(chip);
    }
  }

  // Any emoji, beyond the palette's: the picker (static/chat/emoji.js).
  let reactingTo = null; // the message whose palette opened the picker
  const reactionPicker = emojiPopover({
    label: gettext("React with an emoji"),
    onPick: (emoji) => {
      if (reactingTo) {
        send({ type: "reaction.add", message_id: reactingTo.chatMessage.id, emoji: emoji });
      }
    },
  });

  function togglePalette(element) {
    const open = element.querySelector(".palette");
    if (open) {
      open.remove();
      return;
    }
    const palette = document.createElement("span");
    palette.className = "palette";
    palette.dataset.testid = "reaction-palette";
    for (const emoji of PALETTE) {
      const choice = smallButton("palette-emoji", "palette-emoji", emoji, emoji, () => {
        palette.remove();
        send({ type: "reaction.add", message_id: element.chatMessage.id, emoji: emoji });
      });
      choice.dataset.emoji = emoji;
      palette.append(choice);
    }
    const more = smallButton(
      "palette-more",
      "palette-more",
      "＋",
      gettext("More emoji"),
      () => {
        reactingTo = element;
        const opener = element.querySelector(".add-reaction");
        palette.remove();
        reactionPicker.open(opener, opener);
      },
    );
    more.setAttribute("aria-label", gettext("More emoji"));
    more.setAttribute("aria-haspopup", "dialog");
    palette.append(more);
    element.querySelector(".reactions").after(palette);
  }

  function applyReactionUpdate(frame) {
    const element = shown.get(frame.message_id);
    if (!element || !element.chatMessage) {
      return;
    }
    const message = element.chatMessage;
    const groups = (message.reactions || []).slice();
    const index = groups.findIndex((group) => group.emoji === frame.emoji);
    const group = { emoji: frame.emoji, count: frame.count, users: frame.users };
    if (frame.count === 0) {
      if (index >= 0) {
        groups.splice(index, 1);
      }
    } else if (index >= 0) {
      groups[index] = group;
    } else {
      groups.push(group);
    }
    element.chatMessage = Object.assign({}, message, { reactions: groups });
    renderReactions(element);
  }

  // ---- attachments: shown under the message, uploaded before it is sent ---------

  const attachInput = document.getElementById("attach-input");
  const pendingList = document.getElementById("pending-attachments");
  const attachError = document.getElementById("attach-error");
  const sendButton = form.querySelector("button[type=submit]");
  const attachButton = document.getElementById("attach");
  const composerNote = document.getElementById("composer-state");
  const emojiButton = document.getElementById("emoji");
  const composerPicker = emojiPopover({
    label: gettext("Insert an emoji"),
    onPick: (emoji) => {
      const { value, caret } = insertAt(input.value, input.selectionStart, input.selectionEnd, emoji);
      input.value = value;
      input.focus();
      input.setSelectionRange(caret, caret);
      input.dispatchEvent(new Event("input", { bubbles: true })); // typing.js listens
    },
  });
  emojiButton.addEventListener("click", () => composerPicker.toggle(emojiButton, input));

  // The composer closes while the member is muted (until the mute ends, or a
  // moderator lifts it) and once they are out of the room, and says why.
  const composerFacts = {
    mutedUntil: chat.dataset.mutedUntil ? new Date(chat.dataset.mutedUntil) : null,
    muteReason: chat.dataset.muteReason || "",
    removedReason: null,
  };
  let composerOpen = true;
  let composerTimer = null;

  function showComposerState() {
    clearTimeout(composerTimer);
    const state = composerState(composerFacts);
    composerOpen = state.open;
    input.disabled = !state.open;
    attachButton.disabled = !state.open;
    emojiButton.disabled = !state.open;
    updateSendButton();
    composerNote.textContent = state.text;
    composerNote.hidden = state.open;
    if (state.reopensAt) {
      // Looked at again when the mute ends (at most a day ahead: timers overflow).
      const wait = Math.min(state.reopensAt - Date.now() + 250, 86400000);
      composerTimer = setTimeout(showComposerState, wait);
    }
  }
  const attachmentMaxBytes = Number(chat.dataset.attachmentMaxBytes);
  let pendingAttachments = []; // uploaded, not yet sent: attachment objects
  let uploading = 0;

  function formatSize(bytes) {
    if (bytes < 1024) {
      return `${bytes} B`;
    }
    if (bytes < 1024 * 1024) {
      return `${(bytes / 1024).toFixed(1)} KB`;
    }
    return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  }

  function fillAttachments(element, attachments) {
    // Images inline (the server sends them as images only, never as a page);
    // anything else as a download link with its name and size. Names as text.
    if (!attachments || attachments.length === 0) {
      return;
    }
    const box = document.createElement("div");
    box.className = "attachments";
    for (const attachment of attachments) {
      const link = document.createElement("a");
      link.href = attachment.url;
      if (attachment.is_image) {
        link.target = "_blank";
        link.rel = "noopener";
        link.title = attachment.name;
        const image = document.createElement("img");
        image.dataset.testid = "attachment-image";
        image.alt = attachment.name;
        image.loading = "lazy";
        // Keep the newest message in view once the picture has its height.
        image.addEventListener("load", () => {
          if (list.scrollHeight - list.scrollTop - list.clientHeight < image.height + 60) {
            scrollToEnd();
          }
        });
        image.src = attachment.url;
        link.append(image);
      } else {
        link.className = "file";
        link.dataset.testid = "attachment-file";
        link.download = attachment.name;
        link.textContent = `📄 ${attachment.name} (${formatSize(attachment.size)})`;
      }
      box.append(link);
    }
    element.append(box);
  }

  function showAttachError(text) {
    attachError.textContent = text;
    attachError.hidden = !text;
  }

  function updateSendButton() {
    // A message goes out with every upload finished, or the ids would be missing.
    sendButton.disabled = uploading > 0 || !composerOpen;
  }

  function showPendingAttachment(item, attachment) {
    item.replaceChildren();
    item.dataset.id = String(attachment.id);
    const label = document.createElement("span");
    label.textContent = `📎 ${attachment.name} (${formatSize(attachment.size)})`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "×";
    remove.title = gettext("Remove");
    remove.addEventListener("click", () => {
      // Never sent, the upload is deleted by the server's clean-up later.
      pendingAttachments = pendingAttachments.filter((a) => a.id !== attachment.id);
      item.remove();
    });
    item.append(label, remove);
    pendingAttachments.push(attachment);
  }

  async function uploadFile(file) {
    if (file.size > attachmentMaxBytes) {
      showAttachError(
        interpolate(
          gettext("%(name)s is too large (%(size)s); the limit is %(limit)s."),
          { name: file.name, size: formatSize(file.size), limit: formatSize(attachmentMaxBytes) },
          true,
        ),
      );
      return;
    }
    const item = document.createElement("li");
    item.dataset.testid = "pending-attachment";
    item.className = "uploading";
    item.textContent = interpolate(
      gettext("%(name)s (%(size)s) uploading…"),
      { name: file.name, size: formatSize(file.size) },
      true,
    );
    pendingList.append(item);
    uploading += 1;
    updateSendButton();
    try {
      const data = new FormData();
      data.append("file", file);
      const response = await fetch(chat.dataset.uploadUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: data,
      });
      let answer = {};
      try {
        answer = await response.json();
      } catch (error) {
        // not JSON (a proxy's error page): the status says enough
      }
      if (!response.ok) {
        item.remove();
        const reason =
          response.status === 413
            ? gettext("the file is too large")
            : response.status === 415
              ? gettext("this kind of file is not accepted")
              : interpolate(
                  gettext("upload refused (%(status)s)"),
                  { status: response.status },
                  true,
                );
        const refused = interpolate(
          gettext("%(name)s: %(reason)s."),
          { name: file.name, reason: reason },
          true,
        );
        showAttachError(`${refused} ${answer.detail || ""}`.trim());
        return;
      }
      item.classList.remove("uploading");
      showPendingAttachment(item, answer);
      showAttachError("");
    } catch (error) {
      item.remove();
      showAttachError(
        interpolate(
          gettext("%(name)s: the upload failed (%(error)s)."),
          { name: file.name, error: error.message },
          true,
        ),
      );
    } finally {
      uploading -= 1;
      updateSendButton();
    }
  }

  function takePendingAttachments(element) {
    // The composer's uploads go with this message; the pending line names them.
    const taken = pendingAttachments;
    pendingAttachments = [];
    pendingList.replaceChildren();
    for (const attachment of taken) {
      element.append(` 📎 ${attachment.name}`);
    }
    return taken.map((attachment) => attachment.id);
  }

  attachButton.addEventListener("click", () => attachInput.click());
  showComposerState();
  attachInput.addEventListener("change", () => {
    for (const file of attachInput.files) {
      uploadFile(file);
    }
    attachInput.value = ""; // choosing the same file again still uploads it
  });

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
      showNotice(interpolate(gettext("Refused: %(detail)s"), { detail: detail }, true));
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
      const role = ROLE_LABELS[member.role] || member.role;
      name.textContent = `${member.user.username} (${role})`;
      item.append(name);
      if (member.muted_until) {
        const muted = document.createElement("span");
        muted.className = "muted";
        muted.textContent = ` ${gettext("muted")}`;
        item.append(muted);
      }
      if (member.user.id !== me && member.role !== "owner") {
        const base = `${chat.dataset.membersUrl}${member.user.id}/`;
        // [test id, label, action]: the test id stays English in every language.
        const actions = [
          ["mute", gettext("Mute 10 min"), () => api("POST", `${base}mute/`, { minutes: 10, reason: "" })],
          ["unmute", gettext("Unmute"), () => api("POST", `${base}unmute/`)],
          ["ban", gettext("Ban"), () => api("POST", `${base}ban/`, { reason: "" })],
        ];
        if (chat.dataset.role === "owner" || chat.dataset.staff === "true") {
          const next = member.role === "moderator" ? "member" : "moderator";
          const label = next === "member" ? gettext("Make member") : gettext("Make moderator");
          actions.push(["make", label, () => api("PATCH", base, { role: next })]);
        }
        for (const [testid, label, run] of actions) {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = label;
          button.dataset.testid = `${testid}-${member.user.username}`;
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
    const pending = outbox.get(message.client_id);
    if (pending && message.author.id === Number(chat.dataset.userId)) {
      pending.element.remove();
      outbox.delete(message.client_id);
    }
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
      const height = list.scrollHeight;
      page.results.forEach(showMessage);
      list.scrollTop += list.scrollHeight - height;
      olderButton.hidden = page.next === null;
      placeUnreadDivider();
    } finally {
      olderButton.disabled = false;
    }
  }

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

  function send(frame) {
    return window.chatApp.send(frame);
  }

  function subscribeWhenReady() {
    // Resume after the newest message shown: only once history has loaded (else
    // `since` 0 would replay the room) and the socket is open.
    if (historyLoaded && connected && !stopped) {
      send({ type: "subscribe", room: room, since: newestId });
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

  function showNotice(text) {
    const element = document.createElement("li");
    element.className = "notice";
    element.dataset.testid = "notice";
    element.textContent = text;
    list.append(element);
    scrollToEnd();
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
    scrollToEnd();
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
          refreshShown().catch((error) => console.error("refresh failed", error));
        }
        everSubscribed = true;
        break;
      case "message.new":
        if (frame.room === room) {
          const follow = nearEnd() || frame.message.author.id === me;
          showMessage(frame.message);
          if (follow) {
            scrollToEnd();
          }
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
          const next = element.nextElementSibling;
          element.remove();
          shown.delete(frame.id);
          regroup(next);
        }
        break;
      }
      case "reaction.updated":
        if (frame.room === room) {
          applyReactionUpdate(frame);
        }
        break;
      case "member.muted":
        if (frame.room === room) {
          composerFacts.mutedUntil = frame.muted_until ? new Date(frame.muted_until) : null;
          composerFacts.muteReason = frame.reason || "";
          showComposerState();
        }
        break;
      case "room.removed":
        if (frame.room === room) {
          stopped = true;
          composerFacts.removedReason = frame.reason;
          showComposerState();
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
          composerFacts.mutedUntil = new Date(frame.muted_until);
          showComposerState();
        }
        if (frame.ref && outbox.has(frame.ref)) {
          const entry = outbox.get(frame.ref);
          outbox.delete(frame.ref);
          // A mute is said as the composer says it (in the viewer's time zone).
          const muted = frame.code === "muted" && frame.muted_until;
          showRefused(frame.ref, entry, muted ? composerState(composerFacts).text : frame.detail);
          break; // the refused message itself says why
        }
        showNotice(frame.detail);
        break;
      case "presence":
        // Someone came or went: a moderator's member list may have changed.
        if (canModerate && frame.room === room) {
          loadMembers();
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
    if (document.visibilityState !== "visible" || newestId <= readSentFor) {
      return;
    }
    if (readTimer === null) {
      readTimer = setTimeout(() => {
        readTimer = null;
        if (document.visibilityState === "visible" && newestId > readSentFor) {
          if (send({ type: "read", room: room, last_id: newestId })) {
            readSentFor = newestId;
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

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = input.value.trim();
    if ((!body && pendingAttachments.length === 0) || uploading > 0) {
      return;
    }
    const clientId = newClientId();
    const element = document.createElement("li");
    element.className = "pending";
    element.textContent = body;
    const attachments = takePendingAttachments(element);
    list.append(element);
    scrollToEnd();
    outbox.set(clientId, { body: body, element: element, attachments: attachments });
    sendOutboxEntry(clientId, outbox.get(clientId));
    input.value = "";
  });

  olderButton.addEventListener("click", () => loadOlder());
  window.addEventListener("hashchange", jumpToHash);
  jumpButton.addEventListener("click", jumpToFirstUnread);

  // Exposed for tests and debugging: the socket can be dropped to exercise reconnect.
  window.chatRoom = {
    get socket() {
      return window.chatApp.socket;
    },
    get newestId() {
      return newestId;
    },
  };

  window.chatApp.listen((kind, payload) =>
    kind === "frame" ? onFrame(payload) : onConnection(payload)
  );
  loadLatest()
    .then(jumpToHash)
    .catch((error) =>
      showNotice(
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
    loadMembers();
  }
})();
