// Unread counting for the sidebar's badges (static/chat/app.js draws them): a
// room's badge is the server's count as of a message id (`subscribed`, `unread`),
// plus each later message by someone else this page has seen since, each counted
// once however often it arrives (a live frame, a resend, a reconnect). Pure
// functions over a badge {count, mentions, lastId, seen, seenMentions}; each returns
// the badge as it now is (the same object when nothing changed).

export function freshBadge(count, mentions, lastId) {
  return { count: count, mentions: mentions, lastId: lastId, seen: [], seenMentions: [] };
}

// A new message in the room; `me`: the viewer's user id.
export function withMessage(badge, message, me) {
  if (message.author.id === me || message.id <= badge.lastId || badge.seen.includes(message.id)) {
    return badge;
  }
  return { ...badge, count: badge.count + 1, seen: [...badge.seen, message.id] };
}

// A `mention` frame for a message of the room.
export function withMention(badge, messageId) {
  if (messageId <= badge.lastId || badge.seenMentions.includes(messageId)) {
    return badge;
  }
  return {
    ...badge,
    mentions: badge.mentions + 1,
    seenMentions: [...badge.seenMentions, messageId],
  };
}

// An `unread` frame (the read marker moved, in any tab): the server counted up to
// its last_id; what this page saw after it still counts.
export function withUnread(badge, frame) {
  const seen = (badge?.seen || []).filter((id) => id > frame.last_id);
  const seenMentions = (badge?.seenMentions || []).filter((id) => id > frame.last_id);
  return {
    count: frame.unread_count + seen.length,
    mentions: frame.mention_count + seenMentions.length,
    lastId: frame.last_id,
    seen: seen,
    seenMentions: seenMentions,
  };
}

// A message deleted: no longer counted, if this page counted it.
export function withoutMessage(badge, id) {
  let next = badge;
  if (next.seen.includes(id)) {
    next = {
      ...next,
      count: Math.max(0, next.count - 1),
      seen: next.seen.filter((seenId) => seenId !== id),
    };
  }
  if (next.seenMentions.includes(id)) {
    next = {
      ...next,
      mentions: Math.max(0, next.mentions - 1),
      seenMentions: next.seenMentions.filter((seenId) => seenId !== id),
    };
  }
  return next;
}

// A count as a badge or the tab's title show it.
export function countText(count) {
  return count > 999 ? "999+" : String(count);
}

// The page's title with the total unread in front ("(3) Lobby"), or without.
export function titleWithUnread(title, total) {
  const plain = title.replace(/^\(\d+\+?\) /, "");
  return total > 0 ? `(${countText(total)}) ${plain}` : plain;
}
