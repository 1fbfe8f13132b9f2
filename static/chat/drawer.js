// The room list as a drawer on narrow screens (chat.css says when): the top bar's
// toggle opens and closes it; Escape, the backdrop and following one of its links
// close it. On wide screens the sidebar stays beside the conversation and the
// toggle is not shown, so nothing here has an effect there.

const OPEN_CLASS = "drawer-open";

export function setUpDrawer(doc = document) {
  const toggle = doc.querySelector("[data-drawer-toggle]");
  const drawer = toggle && doc.getElementById(toggle.getAttribute("aria-controls"));
  if (!drawer) {
    return null;
  }
  const backdrop = doc.createElement("div");
  backdrop.className = "drawer-backdrop";
  backdrop.dataset.testid = "drawer-backdrop";
  backdrop.hidden = true;
  drawer.after(backdrop);

  function isOpen() {
    return doc.body.classList.contains(OPEN_CLASS);
  }

  function setOpen(open, { returnFocus = false } = {}) {
    doc.body.classList.toggle(OPEN_CLASS, open);
    toggle.setAttribute("aria-expanded", String(open));
    backdrop.hidden = !open;
    if (open) {
      drawer.querySelector("a, button, input")?.focus();
    } else if (returnFocus) {
      toggle.focus();
    }
  }

  toggle.addEventListener("click", () => setOpen(!isOpen()));
  backdrop.addEventListener("click", () => setOpen(false, { returnFocus: true }));
  doc.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen()) {
      setOpen(false, { returnFocus: true });
    }
  });
  drawer.addEventListener("click", (event) => {
    if (event.target.closest("a")) {
      setOpen(false);
    }
  });
  return { isOpen, setOpen };
}

setUpDrawer();
