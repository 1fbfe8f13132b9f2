// Initials avatars: a coloured disc with one or two letters beside the first message
// of each group (the name is beside it: the disc is decoration, hidden from screen
// readers). The same user gets the same colour everywhere.

// "ana" -> "A", "ana.li" -> "AL", "李雷" -> "李": the first character of the first
// one or two parts of the name, whole characters (not half of an emoji or accent).
export function initials(username) {
  const parts = username.split(/[\s._-]+/).filter(Boolean);
  const letters = (parts.length ? parts : [username]).slice(0, 2).map((part) => {
    const [first] = new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(part);
    return first ? first.segment : "";
  });
  return letters.join("").toLocaleUpperCase();
}

// A hue per user id, spread around the wheel (the golden angle), dark enough for
// white letters to read on it.
export function avatarColour(userId) {
  const hue = Math.round((userId * 137.508) % 360);
  return `hsl(${hue} 55% 34%)`;
}

export function avatarElement(user) {
  const disc = document.createElement("span");
  disc.className = "avatar";
  disc.setAttribute("aria-hidden", "true");
  disc.textContent = initials(user.username);
  disc.style.backgroundColor = avatarColour(user.id);
  return disc;
}
