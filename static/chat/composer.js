// Whether the room's composer is open and, when it is not, why, in words the member
// reads where they would type: muted (until when, and the moderator's reason), or
// no longer in the room (banned, left, deleted). The rule is here, the page applies
// it (static/chat/room.js); tested in Chromium with fixed times.
import { sameDay } from "./grouping.js";

const gettext = window.gettext || ((text) => text);
const interpolate =
  window.interpolate ||
  ((format, values) => format.replace(/%\((\w+)\)s/g, (match, name) => String(values[name])));

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
