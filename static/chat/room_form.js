// The room creation form: the address (slug) is suggested from the name as it is
// typed, until the person edits the address themselves, and checked as it changes:
// a character the server would refuse, or an address another room already has, is
// said under the field at once (and holds the form back), not after a round trip.
// Server-side validation (chat/forms.py, chat.services) stays the rule; this only
// saves a submit that would fail.
import { gettext, interpolate } from "./ui.js";

const SLUG_MAX_LENGTH = 64;

// A slug Django's SlugField(allow_unicode=True) accepts: letters and digits of any
// script, "_" and "-"; lower case; runs of anything else become one "-".
export function slugify(name) {
  return name
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_-]+/gu, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, SLUG_MAX_LENGTH)
    .replace(/-+$/, "");
}

// What is wrong with an address as typed, or null: its characters only (whether
// it is free is asked of the server).
export function slugProblem(slug) {
  if (slug === "") {
    return null; // "required" is the browser's to say, on submit
  }
  if (!/^[\p{L}\p{N}_-]+$/u.test(slug)) {
    return gettext("Use only letters, digits, - and _ (no spaces).");
  }
  return null;
}

const TAKEN_CHECK_DELAY_MS = 300;

// The address's problem shown under it, with aria-invalid and the field's
// validity set so that the form is not sent while it stands.
export function setUpSlugCheck(form) {
  const slug = form?.querySelector("[name=slug]");
  if (!slug) {
    return;
  }
  const note = document.createElement("p");
  note.id = `${slug.id}_problem`;
  note.className = "field-problem";
  note.dataset.testid = "slug-problem";
  note.setAttribute("aria-live", "polite");
  note.hidden = true;
  slug.after(note);
  slug.setAttribute(
    "aria-describedby",
    `${slug.getAttribute("aria-describedby") || ""} ${note.id}`.trim(),
  );
  let timer = null;
  let asked = 0; // answers to older questions are ignored

  function show(problem) {
    note.textContent = problem || "";
    note.hidden = !problem;
    slug.setCustomValidity(problem || "");
    if (problem) {
      slug.setAttribute("aria-invalid", "true");
    } else {
      slug.removeAttribute("aria-invalid");
    }
  }

  async function askWhetherTaken(value, question) {
    try {
      const response = await fetch(`/api/v1/rooms/${encodeURIComponent(value)}/`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (question === asked && response.ok) {
        show(interpolate(gettext("#%(slug)s is taken: choose another address."), { slug: value }));
      }
    } catch (error) {
      // offline: the server says it on submit
    }
  }

  function check() {
    clearTimeout(timer);
    asked += 1;
    const value = slug.value;
    const problem = slugProblem(value);
    show(problem);
    if (!problem && value) {
      const question = asked;
      timer = setTimeout(() => askWhetherTaken(value, question), TAKEN_CHECK_DELAY_MS);
    }
  }

  slug.addEventListener("input", check);
  // The suggestion from the name sets the value without an input event of its own.
  slug.addEventListener("chat:suggested", check);
}

export function setUpSlugSuggestion(form) {
  const name = form?.querySelector("[name=name]");
  const slug = form?.querySelector("[name=slug]");
  if (!name || !slug) {
    return;
  }
  // Suggested while empty or still what we suggested; a person's own edit wins.
  let suggested = slug.value === "";
  slug.addEventListener("input", () => {
    suggested = slug.value === "";
  });
  name.addEventListener("input", () => {
    if (suggested) {
      slug.value = slugify(name.value);
      slug.dispatchEvent(new Event("chat:suggested"));
    }
  });
}

setUpSlugSuggestion(document.querySelector("[data-testid=room-create]"));
setUpSlugCheck(document.querySelector("[data-testid=room-create]"));
