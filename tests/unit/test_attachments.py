"""Attachments: the content-based allow-list, names, limits, and the write paths."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import attachments, protocol, selectors, services
from chat.errors import (
    AttachmentInvalid,
    BodyEmpty,
    InvalidInput,
    Muted,
    NotMember,
    RateLimited,
    TooLarge,
    UnsupportedType,
)
from chat.models import Attachment, Message
from tests import files

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


def upload(user, room, name: str, content: bytes) -> Attachment:
    return attachments.attachment_upload(
        room=room, uploader=user, file=SimpleUploadedFile(name, content)
    )


@pytest.mark.parametrize(
    ("content", "content_type", "stored_name"),
    [
        (files.png(), "image/png", "upload.png"),
        (files.JPEG, "image/jpeg", "upload.jpg"),
        (files.GIF, "image/gif", "upload.gif"),
        (files.WEBP, "image/webp", "upload.webp"),
        (files.PDF, "application/pdf", "upload.pdf"),
        (files.TEXT, "text/plain", "upload.txt"),
    ],
)
def test_each_allowed_type_is_recognised_from_its_content(
    ana, general, content, content_type, stored_name
):
    attachment = upload(ana, general, "upload", content)
    assert attachment.content_type == content_type
    assert attachment.original_name == stored_name
    assert attachment.size == len(content)
    assert attachment.is_image == content_type.startswith("image/")
    with default_storage.open(attachment.file.name) as stored:
        assert stored.read() == content


def test_the_clients_claimed_type_is_ignored(ana, general):
    claimed = SimpleUploadedFile("note.txt", files.TEXT, content_type="image/png")
    attachment = attachments.attachment_upload(room=general, uploader=ana, file=claimed)
    assert attachment.content_type == "text/plain"


@pytest.mark.parametrize(
    "content",
    [files.SVG, files.XML_SVG, files.HTML, files.JS, files.EXE],
    ids=["svg", "xml-svg", "html", "js", "exe"],
)
def test_svg_html_js_and_exe_are_refused_even_when_named_png(ana, general, content):
    with pytest.raises(UnsupportedType):
        upload(ana, general, "innocent.png", content)
    assert not Attachment.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("drawing.svg", files.SVG),
        ("drawing.txt", files.SVG),
        ("page.txt", files.HTML),
        ("page.html", files.HTML),
        ("app.js", files.JS),
        ("tool.exe", files.EXE),
    ],
)
def test_markup_scripts_and_programs_are_refused_by_any_name(
    ana, general, name, content
):
    with pytest.raises(UnsupportedType):
        upload(ana, general, name, content)


def test_text_with_a_nul_byte_is_refused(ana, general):
    with pytest.raises(UnsupportedType):
        upload(ana, general, "notes.txt", b"almost text\x00but not")


def test_text_that_is_not_utf8_is_refused(ana, general):
    with pytest.raises(UnsupportedType):
        upload(ana, general, "notes.txt", "caf\xe9 in Latin-1".encode("latin-1"))


def test_utf8_split_across_upload_chunks_is_still_text(ana, general):
    text = ("é" * 40_000).encode()  # 80,000 bytes: more than one 64 KiB chunk
    assert upload(ana, general, "accents.txt", text).content_type == "text/plain"


def test_size_limit_refuses_one_byte_more(ana, general, settings):
    settings.CHAT_ATTACHMENT_MAX_BYTES = 2000
    upload(ana, general, "fits.txt", b"x" * 2000)
    with pytest.raises(TooLarge):
        upload(ana, general, "too-big.txt", b"x" * 2001)
    assert Attachment.objects.count() == 1


def test_empty_file_is_refused(ana, general):
    with pytest.raises(InvalidInput):
        upload(ana, general, "empty.txt", b"")


@pytest.mark.parametrize(
    ("raw", "content", "shown"),
    [
        ("../../etc/passwd.txt", files.TEXT, "passwd.txt"),
        ("C:\\Users\\ana\\report.pdf", files.PDF, "report.pdf"),
        # A right-to-left override would show "evil.png" for "evil<U+202E>gnp.txt".
        ("evil\u202egnp.txt", files.TEXT, "evilgnp.txt"),
        ("photo.JPG", files.png(), "photo.png"),  # an image, named for what it is
        ("holiday.PNG", files.png(), "holiday.PNG"),
        ("  .hidden  ", files.TEXT, "hidden.txt"),
        ("a\tb\nc.md", files.TEXT, "a b c.md"),
        ("...", files.GIF, "file.gif"),
    ],
)
def test_names_are_cleaned(ana, general, raw, content, shown):
    assert upload(ana, general, raw, content).original_name == shown


def test_long_names_are_capped_keeping_the_extension(ana, general):
    name = upload(ana, general, "x" * 300 + ".txt", files.TEXT).original_name
    assert len(name) == attachments.NAME_MAX_CHARS
    assert name.endswith("x.txt")


@pytest.mark.parametrize(
    ("name", "photo"),
    [
        ("holiday.jpg", files.PHOTO_JPEG),
        ("holiday.png", files.PHOTO_PNG),
        ("holiday.webp", files.PHOTO_WEBP),
    ],
)
def test_a_photo_is_stored_without_its_position_camera_or_comments(
    ana, general, name, photo
):
    stored = upload(ana, general, name, photo)
    with default_storage.open(stored.file.name) as file:
        content = file.read()
    assert not [secret for secret in files.PHOTO_SECRETS if secret in content]
    assert stored.size == len(content) < len(photo)


def test_a_damaged_picture_is_refused_and_nothing_is_stored(ana, general, media_root):
    with pytest.raises(InvalidInput) as refused:
        upload(ana, general, "broken.jpg", files.PHOTO_JPEG[:300])
    assert "damaged" in str(refused.value.detail)
    assert not Attachment.objects.exists()
    assert not [path for path in media_root.rglob("*") if path.is_file()]


def test_stored_under_a_random_name_never_the_clients(ana, general):
    first = upload(ana, general, "../../escape.txt", files.TEXT)
    second = upload(ana, general, "../../escape.txt", files.TEXT)
    assert first.file.name != second.file.name
    for attachment in (first, second):
        assert attachment.file.name.startswith("attachments/")
        assert "escape" not in attachment.file.name
        assert default_storage.exists(attachment.file.name)


def test_only_members_upload(carol, general):
    with pytest.raises(NotMember):
        upload(carol, general, "a.txt", files.TEXT)


def test_muted_member_cannot_upload(ana, bob, general):
    services.member_mute(room=general, actor=ana, user=bob, minutes=5)
    with pytest.raises(Muted):
        upload(bob, general, "a.txt", files.TEXT)


def test_uploads_have_their_own_rate_limit(bob, general, settings):
    settings.CHAT_UPLOAD_BURST = "2/60"
    upload(bob, general, "1.txt", files.TEXT)
    upload(bob, general, "2.txt", files.TEXT)
    with pytest.raises(RateLimited):
        upload(bob, general, "3.txt", files.TEXT)


# ---- attaching to messages ----------------------------------------------------------


def send(author, room, *, ids, body="look", client_id="c-1"):
    return services.message_create(
        room=room, author=author, body=body, client_id=client_id, attachment_ids=ids
    )


def test_a_message_carries_its_attachments_in_its_object(ana, general):
    picture = upload(ana, general, "cat.png", files.png())
    notes = upload(ana, general, "notes.txt", files.TEXT)
    message, created = send(ana, general, ids=[picture.pk, notes.pk])
    assert created
    assert [a["id"] for a in protocol.message_object(message)["attachments"]] == [
        picture.pk,
        notes.pk,
    ]
    assert protocol.message_object(message)["attachments"][0] == {
        "id": picture.pk,
        "name": "cat.png",
        "size": picture.size,
        "content_type": "image/png",
        "is_image": True,
        "url": f"/attachments/{picture.pk}/cat.png",
    }
    picture.refresh_from_db()
    assert picture.message_id == message.pk


def test_body_may_be_empty_with_attachments_but_not_without(ana, general):
    picture = upload(ana, general, "cat.png", files.png())
    message, _ = send(ana, general, ids=[picture.pk], body="  ")
    assert message.body == ""
    with pytest.raises(BodyEmpty):
        send(ana, general, ids=[], body="  ", client_id="c-2")


@pytest.mark.parametrize("case", ["someone else's", "unknown", "already sent"])
def test_attachments_must_be_the_senders_own_unsent_uploads(ana, bob, general, case):
    bobs = upload(bob, general, "bob.txt", files.TEXT)
    if case == "someone else's":
        attachment_id = bobs.pk
    elif case == "unknown":
        attachment_id = bobs.pk + 1000
    else:
        mine = upload(ana, general, "mine.txt", files.TEXT)
        send(ana, general, ids=[mine.pk], client_id="first")
        attachment_id = mine.pk
    before = Message.objects.count()
    with pytest.raises(AttachmentInvalid):
        send(ana, general, ids=[attachment_id], client_id="second")
    assert Message.objects.count() == before


def test_an_upload_to_another_room_is_refused(ana, general, hideout):
    elsewhere = upload(ana, hideout, "secret.txt", files.TEXT)
    with pytest.raises(AttachmentInvalid, match="another room"):
        send(ana, general, ids=[elsewhere.pk])
    elsewhere.refresh_from_db()
    assert elsewhere.message_id is None


def test_a_refusal_stores_nothing_and_leaves_every_upload_free(ana, bob, general):
    mine = upload(ana, general, "mine.txt", files.TEXT)
    bobs = upload(bob, general, "bob.txt", files.TEXT)
    with pytest.raises(AttachmentInvalid):
        send(ana, general, ids=[mine.pk, bobs.pk])
    assert not Message.objects.exists()
    mine.refresh_from_db()
    assert mine.message_id is None
    assert send(ana, general, ids=[mine.pk])[1] is True


def test_too_many_or_repeated_attachments_are_refused(ana, general, settings):
    settings.CHAT_ATTACHMENTS_PER_MESSAGE = 2
    ids = [upload(ana, general, f"{i}.txt", files.TEXT).pk for i in range(3)]
    with pytest.raises(AttachmentInvalid, match="at most 2"):
        send(ana, general, ids=ids)
    with pytest.raises(AttachmentInvalid, match="twice"):
        send(ana, general, ids=[ids[0], ids[0]])


def test_resending_the_same_client_id_stays_idempotent(ana, general):
    picture = upload(ana, general, "cat.png", files.png())
    first, created = send(ana, general, ids=[picture.pk])
    again, created_again = send(ana, general, ids=[picture.pk])
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert protocol.message_object(again) == protocol.message_object(first)
    assert Message.objects.count() == 1


def test_a_message_without_attachments_costs_no_attachment_query(ana, general):
    with CaptureQueriesContext(connection) as queries:
        message, _ = send(ana, general, ids=[])
        protocol.message_object(message)
    assert not [q for q in queries if "chat_attachment" in q["sql"]]
    assert protocol.message_object(message)["attachments"] == []


def test_history_pages_load_attachments_in_one_query(
    ana, general, django_assert_num_queries
):
    for index in range(10):
        ids = [upload(ana, general, f"{index}{n}.txt", files.TEXT).pk for n in "abc"]
        send(ana, general, ids=ids, client_id=f"c-{index}")
    # Messages with authors, then every message's reactions, then their
    # attachments: three queries per page however many messages and files it holds.
    with django_assert_num_queries(3):
        page = selectors.message_page_before(
            room_id=general.pk, before_id=None, limit=50
        )
        objects = [protocol.message_object(m, room_slug="general") for m in page]
    assert [len(o["attachments"]) for o in objects] == [3] * 10
    with django_assert_num_queries(3):
        page = selectors.message_page_after(room_id=general.pk, after_id=0, limit=50)
        [protocol.message_object(m, room_slug="general") for m in page]


# ---- stale uploads ------------------------------------------------------------------


def test_stale_unattached_uploads_are_deleted_with_their_files(
    ana, general, django_capture_on_commit_callbacks
):
    stale = upload(ana, general, "stale.txt", files.TEXT)
    sent = upload(ana, general, "sent.txt", files.TEXT)
    fresh = upload(ana, general, "fresh.txt", files.TEXT)
    send(ana, general, ids=[sent.pk])
    two_days_ago = stale.created_at - timedelta(days=2)
    Attachment.objects.filter(pk__in=[stale.pk, sent.pk]).update(
        created_at=two_days_ago
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert attachments.attachments_delete_stale() == 1
    assert set(Attachment.objects.values_list("pk", flat=True)) == {sent.pk, fresh.pk}
    assert not default_storage.exists(stale.file.name)
    assert default_storage.exists(sent.file.name)
    assert default_storage.exists(fresh.file.name)


def test_deleting_a_room_deletes_its_files_once_committed(
    ana, general, django_capture_on_commit_callbacks
):
    sent = upload(ana, general, "sent.txt", files.TEXT)
    send(ana, general, ids=[sent.pk])
    unsent = upload(ana, general, "unsent.png", files.png())
    names = [sent.file.name, unsent.file.name]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        general.delete()
    # Until the deletion commits, the files stay: a rollback would need them.
    assert all(default_storage.exists(name) for name in names)
    for callback in callbacks:
        callback()
    assert not any(default_storage.exists(name) for name in names)


def test_a_rolled_back_deletion_keeps_the_file(ana, general):
    from django.db import transaction

    kept = upload(ana, general, "kept.txt", files.TEXT)
    with pytest.raises(RuntimeError), transaction.atomic():
        Attachment.objects.filter(pk=kept.pk).delete()
        raise RuntimeError("changed my mind")
    assert Attachment.objects.filter(pk=kept.pk).exists()
    assert default_storage.exists(kept.file.name)


def test_the_clean_up_command_reports_what_it_deleted(ana, general, capsys):
    old = upload(ana, general, "old.txt", files.TEXT)
    Attachment.objects.filter(pk=old.pk).update(
        created_at=old.created_at - timedelta(hours=3)
    )
    call_command("chat_delete_stale_uploads", "--hours", "2")
    assert "deleted 1 stale upload" in capsys.readouterr().out
    assert not Attachment.objects.exists()
