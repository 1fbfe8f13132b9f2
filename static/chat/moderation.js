// A moderator's members panel on the room page: each member with their role and
// whether they are muted, and the actions the viewer may take on them (mute for
// 10 minutes, unmute, ban; owners and staff also make moderators). Each action is
// a REST call (the same services as everywhere); the list is read again after it
// and whenever someone comes or goes.
import { gettext } from "./ui.js";

// Codes from the server shown to people: the code itself if it has no label.
const ROLE_LABELS = {
  owner: () => gettext("owner"),
  moderator: () => gettext("moderator"),
  member: () => gettext("member"),
};

// ctx: chat (the pane's element), me, api(method, url, body).
export function createModeration({ chat, me, api }) {
  async function loadMembers() {
    const panel = document.getElementById("moderation");
    const list = document.getElementById("members");
    const response = await fetch(chat.dataset.membersUrl, { credentials: "same-origin" });
    if (!response.ok) {
      return;
    }
    list.replaceChildren();
    for (const member of await response.json()) {
      const item = document.createElement("li");
      item.dataset.testid = `member-${member.user.username}`;
      const name = document.createElement("span");
      const role = ROLE_LABELS[member.role]?.() || member.role;
      name.textContent = `${member.user.username} (${role})`;
      item.append(name);
      if (member.muted_until) {
        const muted = document.createElement("span");
        muted.className = "muted";
        muted.textContent = ` ${gettext("muted")}`;
        item.append(muted);
      }
      if (member.user.id !== me && member.role !== "owner") {
        const base = `${chat.dataset.membersUrl}${member.user.id}/`;
        // [test id, label, action]: the test id stays English in every language.
        const actions = [
          ["mute", gettext("Mute 10 min"), () => api("POST", `${base}mute/`, { minutes: 10, reason: "" })],
          ["unmute", gettext("Unmute"), () => api("POST", `${base}unmute/`)],
          ["ban", gettext("Ban"), () => api("POST", `${base}ban/`, { reason: "" })],
        ];
        if (chat.dataset.role === "owner" || chat.dataset.staff === "true") {
          const next = member.role === "moderator" ? "member" : "moderator";
          const label = next === "member" ? gettext("Make member") : gettext("Make moderator");
          actions.push(["make", label, () => api("PATCH", base, { role: next })]);
        }
        for (const [testid, label, run] of actions) {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = label;
          button.dataset.testid = `${testid}-${member.user.username}`;
          button.addEventListener("click", async () => {
            await run();
            loadMembers();
          });
          item.append(button);
        }
      }
      list.append(item);
    }
    panel.hidden = false;
  }

  return { loadMembers: loadMembers };
}
