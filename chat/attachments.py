"""Attachments: which files are accepted, and the life of an upload.

Owns the allow-list, decided from a file's content (magic bytes, or valid UTF-8
text), never from the client's claimed type; the display name; and the write paths:
upload, attach to a message (inside `services.message_create`), delete stale
uploads, and removing a file once its row is deleted, whatever deleted it. Files go
through Django's storage API only, never a filesystem path.
Serving is `chat.views.attachment_download`, after `selectors.attachment_get_readable`.
"""

import codecs
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import image_metadata, ratelimits
from chat.errors import (
    AttachmentInvalid,
    InvalidInput,
    Muted,
    NotMember,
    TooLarge,
    UnsupportedType,
)
from chat.models import ATTACHMENT_EXTENSIONS, Attachment, Message, Room
from chat.selectors import membership_of

logger = logging.getLogger(__name__)

# ---- what is accepted --------------------------------------------------------------

# The first bytes of each allowed binary type. SVG is absent on purpose: it is XML
# that can carry scripts. WebP is checked apart (its magic has a size in between).
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)

# The name extensions each type may arrive with. A name that claims another type is
# refused, so that a script named .png, or a page named .html that happens to be
# text, is never stored; a name without an extension gets the type's own.
NAME_EXTENSIONS = {
    "image/png": {".png"},
    "image/jpeg": {".jpg", ".jpeg", ".jpe"},
    "image/gif": {".gif"},
    "image/webp": {".webp"},
    "application/pdf": {".pdf"},
    "text/plain": {".txt", ".text", ".log", ".md", ".csv"},
}
# Stored only once their metadata is removed (chat.image_metadata).
IMAGES_WITH_METADATA = {"image/jpeg", "image/png", "image/webp"}
IMAGE_EXTENSIONS = set().union(
    *(names for kind, names in NAME_EXTENSIONS.items() if kind.startswith("image/"))
)

# Text that starts like markup (the WHATWG MIME Sniffing signatures of HTML and
# XML, plus SVG) is refused although it is valid text: served as text/plain with
# nosniff it is inert here, but a person who downloads and opens it is not.
MARKUP_START = re.compile(
    r"[\t\n\f\r ]*(?:<\?xml|<!--|<!doctype[\t\n\f\r />]"
    r"|<(?:html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|svg)"
    r"[\t\n\f\r />])",
    re.IGNORECASE,
)
TEXT_HEAD_CHARS = 1024

NAME_MAX_CHARS = 100
# Characters that are path separators or reserved in file names on some system.
NAME_RESERVED = re.compile(r'[\\/:*?"<>|]')


def content_type_of(file) -> str:
    """The allowed type of a file's content, or UnsupportedType. `file` is a Django
    File (an upload); it is read from the start and left rewound."""
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    verdict = _text_verdict(file.chunks())
    file.seek(0)
    if verdict == "text":
        return "text/plain"
    if verdict == "markup":
        raise UnsupportedType(_("HTML, SVG and XML files are not accepted."))
    raise UnsupportedType(
        _(
            "This kind of file is not accepted: send PNG, JPEG, GIF or WebP images, "
            "PDF documents or UTF-8 text files."
        )
    )


def _text_verdict(chunks: Iterable[bytes]) -> str:
    """Whether the bytes are "text" (UTF-8 without NUL bytes), "markup" (text that
    starts like HTML, SVG or XML) or "binary". Reads chunk by chunk."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    head = ""
    try:
        for chunk in chunks:
            if b"\x00" in chunk:
                return "binary"
            text = decoder.decode(chunk)
            if len(head) < TEXT_HEAD_CHARS:
                head += text[: TEXT_HEAD_CHARS - len(head)]
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "binary"
    return "markup" if MARKUP_START.match(head.lstrip("\ufeff")) else "text"


def name_for(raw_name: str, content_type: str) -> str:
    """The name shown and offered for download: the last part of the client's name,
    without control or bidirectional-override characters, capped, and ending in an
    extension of the server-decided type. UnsupportedType when the name claims
    another type (an image of another image type is renamed instead)."""
    name = unicodedata.normalize("NFC", raw_name).replace("\\", "/").split("/")[-1]
    name = "".join(
        char
        for char in " ".join(name.split())  # tabs and line breaks become spaces
        if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
    )
    # Leading dots would hide the file; trailing dots and spaces vanish on Windows.
    name = NAME_RESERVED.sub("_", name).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    else:
        extension = f".{extension}"
    allowed = NAME_EXTENSIONS[content_type]
    if extension and extension.lower() not in allowed:
        if content_type.startswith("image/") and extension.lower() in IMAGE_EXTENSIONS:
            extension = ""  # an image named for another image type: name it right
        else:
            raise UnsupportedType(
                _("The file's content is %(type)s, but its name ends in %(ext)s.")
                % {"type": content_type, "ext": extension[:16]}
            )
    extension = extension or ATTACHMENT_EXTENSIONS[content_type]
    stem = stem.strip(" .") or "file"
    return stem[: NAME_MAX_CHARS - len(extension)].rstrip(" .") + extension


# ---- write paths -------------------------------------------------------------------


def attachment_upload(*, room: Room, uploader, file) -> Attachment:
    """Store an uploaded file for the uploader's next message in the room.

    Members only, not while muted, counted against the upload rate (CHAT_UPLOAD_*).
    Raises TooLarge, UnsupportedType or InvalidInput; nothing is stored then. The
    upload stays unattached until a message names it (`attachments_attach`);
    `attachments_delete_stale` removes it if none does.
    """
    membership = membership_of(user=uploader, room=room)
    if membership is None:
        raise NotMember()
    if membership.is_muted(at=timezone.now()):
        raise Muted(muted_until=membership.muted_until)
    ratelimits.check_upload(uploader)
    limit = settings.CHAT_ATTACHMENT_MAX_BYTES
    if file.size > limit:
        raise TooLarge(
            _("The file is %(size)s; the limit is %(limit)s.")
            % {"size": _megabytes(file.size), "limit": _megabytes(limit)}
        )
    if file.size == 0:
        raise InvalidInput(_("The file is empty."))
    content_type = content_type_of(file)
    name = name_for(file.name or "", content_type)
    file = _without_metadata(file, content_type)
    attachment = Attachment(
        room=room,
        uploader=uploader,
        original_name=name,
        content_type=content_type,
        size=file.size,
    )
    # storage.save, under the random name of `attachment_storage_name`.
    attachment.file.save(name, file, save=False)
    try:
        attachment.save()
    except BaseException:
        attachment.file.delete(save=False)
        raise
    return attachment


def _without_metadata(file, content_type: str):
    """A picture's EXIF, XMP, comments and the like removed (the GPS position of a
    phone photo must not reach the room); other files as they are."""
    if content_type not in IMAGES_WITH_METADATA:
        return file
    file.seek(0)
    try:
        data = image_metadata.metadata_stripped(content_type, file.read())
    except image_metadata.ImageDamaged as error:
        logger.info("refused a damaged %s upload: %s", content_type, error)
        raise InvalidInput(_("The picture is damaged and cannot be shared.")) from None
    return ContentFile(data, name=file.name)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def attachments_attach(*, message: Message, author, ids: Sequence[int]) -> None:
    """Make the author's uploads part of a new message; call inside the
    transaction that stores it (`services.message_create`), so that a refusal
    (AttachmentInvalid) stores nothing. Leaves the message's attachments loaded,
    so building its message object costs no query."""
    if not ids:
        # Known empty: no query now, none when the message object is built.
        prefetch_related_objects(
            [message], Prefetch("attachments", queryset=Attachment.objects.none())
        )
        return
    limit = settings.CHAT_ATTACHMENTS_PER_MESSAGE
    if len(ids) > limit:
        raise AttachmentInvalid(
            _("A message may carry at most %(limit)d attachments.") % {"limit": limit}
        )
    if len(set(ids)) != len(ids):
        raise AttachmentInvalid(_("An attachment is listed twice."))
    # Locked: a concurrent send naming the same upload waits, then sees it taken.
    found = Attachment.objects.select_for_update().in_bulk(ids)
    for attachment_id in ids:
        attachment = found.get(attachment_id)
        if attachment is None or attachment.uploader_id != author.pk:
            # Someone else's upload is refused exactly like one that does not exist.
            raise AttachmentInvalid(
                _("Attachment %(id)d is not one of your uploads.")
                % {"id": attachment_id}
            )
        if attachment.room_id != message.room_id:
            raise AttachmentInvalid(
                _("Attachment %(id)d was uploaded to another room.")
                % {"id": attachment_id}
            )
        if attachment.message_id is not None:
            raise AttachmentInvalid(
                _("Attachment %(id)d is already part of a message.")
                % {"id": attachment_id}
            )
    Attachment.objects.filter(pk__in=ids).update(message=message)
    prefetch_related_objects([message], "attachments")


def attachments_delete_stale(*, older_than: timedelta | None = None) -> int:
    """Delete uploads no message took within CHAT_UNATTACHED_UPLOAD_HOURS (or
    `older_than`), rows and files; returns how many. Safe while people send: an
    upload attached meanwhile is kept."""
    if older_than is None:
        older_than = timedelta(hours=settings.CHAT_UNATTACHED_UPLOAD_HOURS)
    cutoff = timezone.now() - older_than
    stale = Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff)
    deleted = 0
    for attachment in stale.iterator():
        # Only if still unattached: a send may have taken it since the read above.
        # The file goes with the row (`attachment_file_delete`).
        count, _by_model = Attachment.objects.filter(
            pk=attachment.pk, message__isnull=True
        ).delete()
        deleted += bool(count)
    return deleted


def attachment_file_delete(sender, instance: Attachment, **kwargs) -> None:
    """post_delete of Attachment: whatever deleted the row (the stale clean-up, a
    room, message or account deleted with everything in it, the admin), its stored
    file goes too, once the deletion is committed; a rolled back one keeps it."""
    file = instance.file
    if not file.name:
        return
    storage, name = file.storage, file.name

    def delete() -> None:
        try:
            storage.delete(name)
        except Exception:
            # Nothing refers to the file any more; an operator can remove it from
            # the storage by hand.
            logger.exception("could not delete stored file %s", name)

    transaction.on_commit(delete)
