// One way to show a moment everywhere (messages, edit histories, search results):
// in the viewer's time zone and the page's language, 24-hour time, with as much
// date as it takes: "14:05" today, the weekday within the last week, day and month
// this year, the full date before. The exact date and time go in the title.

function locale() {
  return document.documentElement.lang || undefined;
}

export function formatMoment(date, now = new Date(), language = locale()) {
  const time = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const ageInDays = (startOfToday - date) / 86400000;
  let options;
  if (date >= startOfToday) {
    options = time;
  } else if (ageInDays < 6) {
    options = { weekday: "short", ...time };
  } else if (date.getFullYear() === now.getFullYear()) {
    options = { day: "numeric", month: "short", ...time };
  } else {
    options = { day: "numeric", month: "short", year: "numeric", ...time };
  }
  return new Intl.DateTimeFormat(language, options).format(date);
}

export function fullMoment(date, language = locale()) {
  return new Intl.DateTimeFormat(language, {
    dateStyle: "full",
    timeStyle: "short",
    hourCycle: "h23",
  }).format(date);
}

// Fill a <time> element for an ISO 8601 moment.
export function showMoment(element, iso, now = new Date()) {
  const date = new Date(iso);
  element.dateTime = iso;
  element.textContent = formatMoment(date, now);
  element.title = fullMoment(date);
}

// Every server-rendered <time datetime> of the page (search results), in the
// viewer's time zone instead of the server's.
export function localizeTimes(root = document) {
  for (const element of root.querySelectorAll("time[datetime][data-localize]")) {
    showMoment(element, element.getAttribute("datetime"));
  }
}

localizeTimes();
