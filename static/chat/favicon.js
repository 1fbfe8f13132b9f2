// The tab's icon with the unread count on it, for a tab in the background: the
// page's own icon (static/chat/icon.svg) with a red badge drawn over it on a
// canvas; back to the plain icon when nothing is unread.

const SIZE = 64;

export function badgeLabel(unread) {
  if (unread <= 0) {
    return "";
  }
  return unread > 99 ? "99+" : String(unread);
}

let plainHref = null;
let icon = null;

function iconLink() {
  return document.querySelector("link[rel=icon]");
}

function loadIcon(href) {
  if (!icon) {
    icon = new Promise((resolve, reject) => {
      const image = new Image();
      image.onload = () => resolve(image);
      image.onerror = reject;
      image.src = href;
    });
  }
  return icon;
}

export async function showUnreadInIcon(unread) {
  const link = iconLink();
  if (!link) {
    return;
  }
  plainHref ??= link.href;
  const label = badgeLabel(unread);
  if (!label) {
    link.href = plainHref;
    return;
  }
  const image = await loadIcon(plainHref);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = SIZE;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0, SIZE, SIZE);
  const radius = label.length > 2 ? 20 : 17;
  context.fillStyle = "#d93025";
  context.beginPath();
  context.arc(SIZE - radius, radius, radius, 0, 2 * Math.PI);
  context.fill();
  context.fillStyle = "#fff";
  context.font = `bold ${label.length > 2 ? 18 : 24}px sans-serif`;
  context.textAlign = "center";
  context.textBaseline = "middle";
  context.fillText(label, SIZE - radius, radius + 1);
  // The count may have changed while the icon loaded: only the latest is shown.
  if (badgeLabel(currentUnread) === label) {
    link.href = canvas.toDataURL("image/png");
  }
}

let currentUnread = 0;

export function setUnread(unread) {
  currentUnread = unread;
  showUnreadInIcon(unread).catch((error) => console.error("tab icon", error));
}
