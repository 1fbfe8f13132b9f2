// How a room's messages read as a conversation: a message by the same author
// within a few minutes of the one before it continues it (the name is not
// repeated), and the first message of each day, in the viewer's time zone, carries
// the day's name ("Today", "Yesterday", or the date).

const gettext = globalThis.gettext || ((text) => text);

// The gap after which the same author's next message starts a group of its own.
export const CONTINUES_WITHIN_MS = 5 * 60 * 1000;

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

export function sameDay(a, b) {
  return startOfDay(a).getTime() === startOfDay(b).getTime();
}

export function dayLabel(date, now = new Date(), language = document.documentElement.lang) {
  const today = startOfDay(now);
  const day = startOfDay(date);
  // Calendar days apart (a day is not always 24 hours across a clock change).
  const daysAgo = Math.round((today - day) / 86400000);
  if (daysAgo === 0) {
    return gettext("Today");
  }
  if (daysAgo === 1) {
    return gettext("Yesterday");
  }
  const options = { weekday: "long", day: "numeric", month: "long" };
  if (date.getFullYear() !== now.getFullYear()) {
    options.year = "numeric";
  }
  return new Intl.DateTimeFormat(language || undefined, options).format(date);
}

// previous, message: {authorId, createdAt: Date}; previous is null for the first.
export function grouping(previous, message) {
  const newDay = !previous || !sameDay(previous.createdAt, message.createdAt);
  const continued =
    !newDay &&
    previous.authorId === message.authorId &&
    message.createdAt - previous.createdAt >= 0 &&
    message.createdAt - previous.createdAt < CONTINUES_WITHIN_MS;
  return { newDay, continued };
}
