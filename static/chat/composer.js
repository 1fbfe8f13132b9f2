// The room's composer: the message box, its 😊 emoji picker and 📎 uploads
// (attachments.js), the Send button, and whether the composer is open and, when it
// is not, why, in words the member reads where they would type: muted (until when,
// and the moderator's reason), or no longer in the room (banned, left, deleted).
// The rule (composerState) is tested in Chromium with fixed times; what a sent
// message becomes (the outbox, the socket) is static/chat/room.js's.
import { createUploads } from "./attachments.js";
import { emojiPopover, insertAt } from "./emoji.js";
import { sameDay } from "./grouping.js";
import { gettext, interpolate } from "./ui.js";

const REMOVED = {
  banned: () => gettext("You were banned from this room: you can no longer write here."),
  left: () => gettext("You left this room: join it again to write here."),
  deleted: () => gettext("This room was deleted."),
};

// A moment to come: its time today, else with its day ("Tue 8 Dec, 14:05").
export function untilWhen(date, now = new Date(), language = document.documentElement.lang) {
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (!sameDay(date, now)) {
    Object.assign(options, { weekday: "short", day: "numeric", month: "short" });
    if (date.getFullYear() !== now.getFullYear()) {
      options.year = "numeric";
    }
  }
  return new Intl.DateTimeFormat(language || undefined, options).format(date);
}

// facts: {mutedUntil: Date|null, muteReason: string, removedReason: string|null}.
// Returns {open, text, reopensAt}: `reopensAt` is when a mute ends (the page looks
// again then), null otherwise.
export function composerState(facts, now = new Date()) {
  if (facts.removedReason) {
    const say = REMOVED[facts.removedReason];
    const text = say
      ? say()
      : interpolate(gettext("You were removed from this room (%(reason)s)."), {
          reason: facts.removedReason,
        }, true);
    return { open: false, text: text, reopensAt: null };
  }
  if (facts.mutedUntil && facts.mutedUntil > now) {
    const until = untilWhen(facts.mutedUntil, now);
    let text = interpolate(gettext("You are muted here until %(until)s."), { until: until }, true);
    if (facts.muteReason) {
      text += " " + interpolate(gettext("Reason: %(reason)s"), { reason: facts.muteReason }, true);
    }
    return { open: false, text: text, reopensAt: facts.mutedUntil };
  }
  return { open: true, text: "", reopensAt: null };
}

// The composer on the page. `onSend({body, attachments})` gets what the member
// sends (attachments: the uploaded attachment objects); the box is then emptied.
export function createComposer({ chat, onSend }) {
  const form = document.getElementById("send");
  const input = document.getElementById("body");
  const sendButton = form.querySelector("button[type=submit]");
  const composerNote = document.getElementById("composer-state");
  const emojiButton = document.getElementById("emoji");
  const uploads = createUploads({ chat: chat, onBusyChange: () => updateSendButton() });

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
    uploads.enabled = state.open;
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

  function updateSendButton() {
    // A message goes out with every upload finished, or the ids would be missing.
    sendButton.disabled = uploads.busy || !composerOpen;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = input.value.trim();
    if ((!body && uploads.pending === 0) || uploads.busy) {
      return;
    }
    onSend({ body: body, attachments: uploads.take() });
    input.value = "";
  });

  showComposerState();
  return {
    // A mute from a `member.muted` frame (until null: lifted) or an `error` frame
    // (reason undefined: the one known so far stays).
    mute(until, reason) {
      composerFacts.mutedUntil = until;
      if (reason !== undefined) {
        composerFacts.muteReason = reason;
      }
      showComposerState();
    },
    removed(reason) {
      composerFacts.removedReason = reason;
      showComposerState();
    },
    // What the composer says now (a refused send shows the same words).
    get text() {
      return composerState(composerFacts).text;
    },
  };
}
