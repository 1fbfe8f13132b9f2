// Attachments: shown under their message (images inline, other files as
// downloads), and uploaded from the composer before the message that carries them
// is sent (POST .../attachments/, then the message names their ids).
import { csrfToken, gettext, interpolate } from "./ui.js";

export function formatSize(bytes) {
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

// Images inline (served as images only, never as a page); anything else as a
// download link with its name and size. Names as text. `onImageLoad(img)` hears
// when a picture has its height.
export function fillAttachments(element, attachments, onImageLoad) {
  if (!attachments || attachments.length === 0) {
    return;
  }
  const box = document.createElement("div");
  box.className = "attachments";
  for (const attachment of attachments) {
    const link = document.createElement("a");
    link.href = attachment.url;
    if (attachment.is_image) {
      link.target = "_blank";
      link.rel = "noopener";
      link.title = attachment.name;
      const image = document.createElement("img");
      image.dataset.testid = "attachment-image";
      image.alt = attachment.name;
      image.loading = "lazy";
      if (onImageLoad) {
        image.addEventListener("load", () => onImageLoad(image));
      }
      image.src = attachment.url;
      link.append(image);
    } else {
      link.className = "file";
      link.dataset.testid = "attachment-file";
      link.download = attachment.name;
      link.textContent = `📄 ${attachment.name} (${formatSize(attachment.size)})`;
    }
    box.append(link);
  }
  element.append(box);
}

// The composer's uploads: the 📎 button and file input, the pending list under
// the composer, errors said beside it. `onBusyChange()` hears when an upload
// starts or ends (a message waits for every upload to finish).
export function createUploads({ chat, onBusyChange }) {
  const attachInput = document.getElementById("attach-input");
  const attachButton = document.getElementById("attach");
  const pendingList = document.getElementById("pending-attachments");
  const attachError = document.getElementById("attach-error");
  const attachmentMaxBytes = Number(chat.dataset.attachmentMaxBytes);
  let pendingAttachments = []; // uploaded, not yet sent: attachment objects
  let uploading = 0;
  const updateSendButton = () => onBusyChange();

  function showAttachError(text) {
    attachError.textContent = text;
    attachError.hidden = !text;
  }

  function showPendingAttachment(item, attachment) {
    item.replaceChildren();
    item.dataset.id = String(attachment.id);
    const label = document.createElement("span");
    label.textContent = `📎 ${attachment.name} (${formatSize(attachment.size)})`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "×";
    remove.title = gettext("Remove");
    remove.addEventListener("click", () => {
      // Never sent, the upload is deleted by the server's clean-up later.
      pendingAttachments = pendingAttachments.filter((a) => a.id !== attachment.id);
      item.remove();
    });
    item.append(label, remove);
    pendingAttachments.push(attachment);
  }

  async function uploadFile(file) {
    if (file.size > attachmentMaxBytes) {
      showAttachError(
        interpolate(
          gettext("%(name)s is too large (%(size)s); the limit is %(limit)s."),
          { name: file.name, size: formatSize(file.size), limit: formatSize(attachmentMaxBytes) },
          true,
        ),
      );
      return;
    }
    const item = document.createElement("li");
    item.dataset.testid = "pending-attachment";
    item.className = "uploading";
    item.textContent = interpolate(
      gettext("%(name)s (%(size)s) uploading…"),
      { name: file.name, size: formatSize(file.size) },
      true,
    );
    pendingList.append(item);
    uploading += 1;
    updateSendButton();
    try {
      const data = new FormData();
      data.append("file", file);
      const response = await fetch(chat.dataset.uploadUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body: data,
      });
      let answer = {};
      try {
        answer = await response.json();
      } catch (error) {
        // not JSON (a proxy's error page): the status says enough
      }
      if (!response.ok) {
        item.remove();
        const reason =
          response.status === 413
            ? gettext("the file is too large")
            : response.status === 415
              ? gettext("this kind of file is not accepted")
              : interpolate(
                  gettext("upload refused (%(status)s)"),
                  { status: response.status },
                  true,
                );
        const refused = interpolate(
          gettext("%(name)s: %(reason)s."),
          { name: file.name, reason: reason },
          true,
        );
        showAttachError(`${refused} ${answer.detail || ""}`.trim());
        return;
      }
      item.classList.remove("uploading");
      showPendingAttachment(item, answer);
      showAttachError("");
    } catch (error) {
      item.remove();
      showAttachError(
        interpolate(
          gettext("%(name)s: the upload failed (%(error)s)."),
          { name: file.name, error: error.message },
          true,
        ),
      );
    } finally {
      uploading -= 1;
      updateSendButton();
    }
  }

  // The uploads that go with the message being sent (attachment objects).
  function take() {
    const taken = pendingAttachments;
    pendingAttachments = [];
    pendingList.replaceChildren();
    return taken;
  }

  attachButton.addEventListener("click", () => attachInput.click());
  attachInput.addEventListener("change", () => {
    for (const file of attachInput.files) {
      uploadFile(file);
    }
    attachInput.value = ""; // choosing the same file again still uploads it
  });

  return {
    take: take,
    get busy() {
      return uploading > 0;
    },
    get pending() {
      return pendingAttachments.length;
    },
    set enabled(open) {
      attachButton.disabled = !open;
    },
  };
}
