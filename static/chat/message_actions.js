// A message's actions, on the room page: the toolbar (react, edit, earlier versions,
// delete) shown on hover, keyboard focus or a tap, the reaction chips and palette
// (any emoji through static/chat/emoji.js), editing in place, a moderator's look at
// earlier versions. Edits and reactions go out as socket frames and are shown
// when their broadcast comes back, so every open page shows the same state.
import { emojiPopover } from "./emoji.js";
import { showMoment } from "./times.js";
import { gettext, smallButton } from "./ui.js";

// ctx: chat (the pane's element), list (the messages), me, canModerate, shown (id ->
// <li>, the timeline's), send(frame), api(method, url, body), showNotice(text),
// render(element, message) (the timeline's, to undo an edit in progress).
export function createMessageActions(ctx) {
  const { chat, list, me, canModerate, shown, send, api, showNotice } = ctx;
  const fillMessage = (element, message) => ctx.render(element, message);

  // A message's actions (react, edit, its history, delete) are one toolbar shown on
  // hover or keyboard focus, or on a long press or a tap where there is no hover (a
  // phone), not a permanent row under every message.
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

  // One message's toolbar shown at a time (`item` null: none); a tap on the open
  // one closes it (`toggle`), a long press leaves it open.
  function showActionsOf(item, toggle) {
    for (const open of list.querySelectorAll("li.show-actions")) {
      if (open !== item) {
        open.classList.remove("show-actions");
      }
    }
    if (toggle) {
      item?.classList.toggle("show-actions");
    } else {
      item?.classList.add("show-actions");
    }
  }

  let pressedOpen = false; // a long press just opened a toolbar: its click is not a tap

  list.addEventListener("click", (event) => {
    if (pressedOpen) {
      pressedOpen = false;
      return;
    }
    if (event.target.closest("button, a, textarea, input")) {
      return;
    }
    showActionsOf(event.target.closest("li[data-id]"), true);
  });

  // On a touch screen a long press opens the message's toolbar, as in the chat apps
  // people know (a tap does too); moving the finger (scrolling) cancels it.
  const LONG_PRESS_MS = 450;
  let pressTimer = null;
  const cancelPress = () => {
    clearTimeout(pressTimer);
    pressTimer = null;
  };
  list.addEventListener(
    "touchstart",
    (event) => {
      const item = event.target.closest("li[data-id]");
      cancelPress();
      const onControl = event.target.closest("button, a, textarea, input");
      if (!item || event.touches.length !== 1 || onControl) {
        return;
      }
      pressTimer = setTimeout(() => {
        pressTimer = null;
        pressedOpen = true;
        showActionsOf(item, false);
        navigator.vibrate?.(10);
      }, LONG_PRESS_MS);
    },
    { passive: true },
  );
  for (const type of ["touchmove", "touchcancel"]) {
    list.addEventListener(type, cancelPress, { passive: true });
  }
  list.addEventListener("touchend", () => {
    cancelPress();
    // A long press ends without a click in some browsers: forget it after this turn.
    setTimeout(() => {
      pressedOpen = false;
    }, 400);
  });
  // No text-selection menu over the toolbar the long press opened.
  list.addEventListener("contextmenu", (event) => {
    if (pressedOpen) {
      event.preventDefault();
    }
  });

  // Refusals of edits and reactions arrive as `error` frames (the room's notices).
  const editWindowMs = Number(chat.dataset.editWindow || 0) * 1000;
  const PALETTE = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀"];
  const MAX_TIMER_MS = 2147483647; // setTimeout's limit

  function messageUrl(id) {
    return chat.dataset.messagesUrl.replace(/0\/$/, `${id}/`);
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

  function deleteMessage(id) {
    // The broadcast `message.deleted` removes it here and on every open page.
    api("DELETE", messageUrl(id));
  }

  return { decorate: addEditsAndReactions, applyReactionUpdate: applyReactionUpdate };
}
