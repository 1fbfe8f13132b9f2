// Where this visit's "new messages" divider goes: above the first message by someone
// else after the read marker the member had when the page opened (the marker moves
// on as they read; the divider stays for the visit). Tested in Chromium.

// shown: [{id, authorId}] in any order; readBefore: the marker (0: never read, no
// divider); moreOlder: whether older history is still to load. Returns
// {id, settled}: the first unread message shown (or null), and whether that is the
// room's first unread, which it is once a read message is shown too or no older
// history is left (until then, older pages may hold earlier unread messages).
export function unreadDivider(shown, readBefore, me, moreOlder) {
  if (!readBefore) {
    return { id: null, settled: true };
  }
  let first = null;
  let readShown = false;
  for (const message of shown) {
    if (message.id <= readBefore) {
      readShown = true;
    } else if (message.authorId !== me && (first === null || message.id < first)) {
      first = message.id;
    }
  }
  return { id: first, settled: readShown || !moreOlder };
}
