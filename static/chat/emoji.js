// The emoji picker: one for the composer (the emoji goes in at the caret) and one
// for reactions (any emoji, beyond the quick palette). The picker itself is
// emoji-picker-element (static/vendor/, README "Dependencies": searchable in the
// page's language, keyboard navigable, remembers frequently used emoji), loaded on
// first use so pages that never open it do not pay for it; its emoji names come
// from our own copy of its data, never from a CDN.

const VENDOR = new URL("../vendor/", import.meta.url);

// The picker's emoji data and interface strings for a page language (`<html
// lang>`, e.g. "en-us", "zh-hans"): Chinese for any zh, English otherwise.
export function pickerLanguage(lang) {
  const chinese = /^zh\b/i.test(lang || "");
  return {
    locale: chinese ? "zh" : "en",
    dataSource: `emoji-picker-element-data/${chinese ? "zh" : "en"}/data.json`,
    i18n: chinese ? "emoji-picker-element/i18n/zh_CN.js" : null,
  };
}

// `text` put in place of the input's selection (or at its caret), the caret after
// it: {value, caret}. Positions are the input's own (UTF-16 code units).
export function insertAt(value, selectionStart, selectionEnd, text) {
  const start = Math.max(0, Math.min(selectionStart ?? value.length, value.length));
  const end = Math.max(start, Math.min(selectionEnd ?? start, value.length));
  return { value: value.slice(0, start) + text + value.slice(end), caret: start + text.length };
}

let pickerModule = null;

async function makePicker() {
  pickerModule ??= import(new URL("emoji-picker-element/index.js", VENDOR).href);
  const { Picker } = await pickerModule;
  const language = pickerLanguage(document.documentElement.lang);
  const options = {
    locale: language.locale,
    dataSource: new URL(language.dataSource, VENDOR).href,
  };
  if (language.i18n) {
    options.i18n = (await import(new URL(language.i18n, VENDOR).href)).default;
  }
  return new Picker(options);
}

// A button that opens a picker in a popover beside it; `onPick(unicode)` gets the
// chosen emoji. Escape or a click elsewhere closes it, and focus goes back to
// where it was. Returns {open(anchor), close()} for other openers (reactions).
export function emojiPopover({ label, onPick }) {
  let popover = null;
  let returnFocus = null;
  let opener = null;

  function close() {
    if (!popover || popover.hidden) {
      return;
    }
    popover.hidden = true;
    opener?.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", onOutside, true);
    returnFocus?.focus();
  }

  function onOutside(event) {
    if (popover && !popover.contains(event.target) && event.target !== opener) {
      close();
    }
  }

  async function build() {
    popover = document.createElement("div");
    popover.className = "emoji-popover";
    popover.dataset.testid = "emoji-popover";
    popover.setAttribute("role", "dialog");
    popover.setAttribute("aria-label", label);
    popover.hidden = true;
    const picker = await makePicker();
    picker.addEventListener("emoji-click", (event) => {
      const unicode = event.detail.unicode;
      close();
      if (unicode) {
        onPick(unicode);
      }
    });
    popover.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        close();
      }
    });
    popover.append(picker);
    document.body.append(popover);
  }

  async function open(anchor, focusAfter = anchor) {
    if (!popover) {
      await build();
    }
    opener?.setAttribute("aria-expanded", "false");
    opener = anchor;
    returnFocus = focusAfter;
    // Above the anchor, or below it where there is no room above; inside the
    // window either way (a phone's is narrow).
    const box = anchor.getBoundingClientRect();
    popover.hidden = false;
    const width = popover.offsetWidth;
    const height = popover.offsetHeight;
    const left = Math.max(8, Math.min(box.left, window.innerWidth - width - 8));
    popover.style.left = `${left}px`;
    if (box.top - 6 - height >= 8) {
      popover.style.top = "";
      popover.style.bottom = `${window.innerHeight - box.top + 6}px`;
    } else {
      popover.style.bottom = "";
      popover.style.top = `${Math.max(8, Math.min(box.bottom + 6, window.innerHeight - height - 8))}px`;
    }
    anchor.setAttribute("aria-expanded", "true");
    document.addEventListener("pointerdown", onOutside, true);
    // The picker's search box: type a name (in the page's language) to find one.
    requestAnimationFrame(() => {
      const picker = popover.querySelector("emoji-picker");
      (picker?.shadowRoot?.querySelector("input[type=search]") || picker || popover).focus();
    });
  }

  function toggle(anchor, focusAfter) {
    if (popover && !popover.hidden && opener === anchor) {
      close();
    } else {
      open(anchor, focusAfter);
    }
  }

  return { open: open, close: close, toggle: toggle };
}
