// Small things every chat page's modules share: the page's translations (Django's
// JavaScript catalog, the /jsi18n/ script in templates/base.html; English if it
// failed to load), a small button, and REST calls with the session's CSRF token.

export function gettext(text) {
  return window.gettext ? window.gettext(text) : text;
}

// Django's interpolate(format, values, true): named %(name)s placeholders.
export function interpolate(format, values, named = true) {
  if (window.interpolate) {
    return window.interpolate(format, values, named);
  }
  return format.replace(/%\((\w+)\)s/g, (match, name) => String(values[name]));
}

export function smallButton(className, testid, text, title, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  button.dataset.testid = testid;
  button.textContent = text;
  button.title = title;
  button.addEventListener("click", onClick);
  return button;
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// A JSON request with the session and its CSRF token; `onRefused(detail)` hears
// why when the answer is not 2xx (the server's `detail`, else the status).
export async function apiRequest(method, url, body, onRefused) {
  const response = await fetch(url, {
    method: method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok && onRefused) {
    let detail = `${response.status}`;
    try {
      detail = (await response.json()).detail || detail;
    } catch (error) {
      // not JSON: keep the status
    }
    onRefused(detail);
  }
  return response;
}
