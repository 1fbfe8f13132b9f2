// The room creation form: the address (slug) is suggested from the name as it is
// typed, until the person edits the address themselves. Server-side validation
// (chat/forms.py) stays the rule; this only saves typing.

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
    }
  });
}

setUpSlugSuggestion(document.querySelector("[data-testid=room-create]"));
