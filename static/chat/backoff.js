// How long the page waits before trying to reconnect its chat socket.
//
// Exponential with jitter, so that a restarted server is not hit by every page at
// the same instant, but capped low: a server restart takes seconds, and a page
// that waits half a minute after the server is back looks broken. The browser's
// `online` event, the tab becoming visible and the "Reconnect now" button skip the
// wait (static/chat/app.js).

export const FIRST_DELAY_MS = 500;
export const MAX_DELAY_MS = 8000;

// The delay before reconnect attempt number `attempt` (0 for the first after a
// drop): between half and all of min(MAX, FIRST * 2^attempt).
export function reconnectDelay(attempt, random = Math.random) {
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt);
  return base / 2 + random() * (base / 2);
}
