"""Pictures lose what they say about their taker (GPS, camera, comments) and keep
what display needs, byte for byte otherwise."""

import struct

import pytest

from chat.image_metadata import ImageDamaged, metadata_stripped
from tests import files

PHOTOS = [
    ("image/jpeg", files.PHOTO_JPEG),
    ("image/jpeg", files.PHOTO_JPEG_PROGRESSIVE),
    ("image/png", files.PHOTO_PNG),
    ("image/webp", files.PHOTO_WEBP),
]
ONLY_ORIENTATION_6 = (
    b"\xff\xe1\x00\x22Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01"
    b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00"
)


@pytest.mark.parametrize(("content_type", "photo"), PHOTOS)
def test_a_phone_photo_loses_position_camera_and_comments(content_type, photo):
    assert any(secret in photo for secret in files.PHOTO_SECRETS)
    stripped = metadata_stripped(content_type, photo)
    assert not [secret for secret in files.PHOTO_SECRETS if secret in stripped]
    assert stripped[:4] == photo[:4]
    assert len(stripped) < len(photo)


@pytest.mark.parametrize(("content_type", "photo"), PHOTOS)
def test_stripping_twice_changes_nothing_more(content_type, photo):
    once = metadata_stripped(content_type, photo)
    assert metadata_stripped(content_type, once) == once


@pytest.mark.parametrize("photo", [files.PHOTO_JPEG, files.PHOTO_JPEG_PROGRESSIVE])
def test_a_jpeg_keeps_only_its_orientation_so_it_still_shows_upright(photo):
    stripped = metadata_stripped("image/jpeg", photo)
    assert stripped.count(b"Exif\x00\x00") == 1
    assert ONLY_ORIENTATION_6 in stripped


@pytest.mark.parametrize(
    ("content_type", "picture"),
    [
        ("image/jpeg", files.JPEG),
        ("image/png", files.png()),
        ("image/webp", files.WEBP),
        ("image/gif", files.GIF),
        ("text/plain", files.TEXT),
    ],
)
def test_pictures_without_metadata_and_other_files_are_unchanged(content_type, picture):
    assert metadata_stripped(content_type, picture) == picture


def test_what_follows_the_end_of_a_jpeg_is_cut_off():
    # Phones append previews and depth maps after the image, each with its own EXIF.
    stripped = metadata_stripped("image/jpeg", files.JPEG + files.PHOTO_JPEG)
    assert stripped == files.JPEG


def test_what_follows_the_end_of_a_png_is_cut_off():
    picture = files.png()
    assert metadata_stripped("image/png", picture + b"GPS 52N 13E") == picture


def test_the_webp_header_no_longer_announces_metadata():
    stripped = metadata_stripped("image/webp", files.PHOTO_WEBP)
    assert stripped[12:16] == b"VP8X"
    flags = stripped[20]
    assert flags & 0x08 == 0 and flags & 0x04 == 0  # EXIF, XMP
    (riff_size,) = struct.unpack("<I", stripped[4:8])
    assert riff_size == len(stripped) - 8


@pytest.mark.parametrize(
    ("content_type", "damaged"),
    [
        ("image/jpeg", files.PHOTO_JPEG[:300]),
        ("image/jpeg", files.JPEG[:-2]),
        ("image/jpeg", b"\xff\xd8\xff\xe1\xff\xff" + b"\x00" * 10),
        ("image/jpeg", b"\xff\xd8garbage"),
        ("image/png", files.png()[:-12]),
        ("image/png", files.PHOTO_PNG[:40]),
        ("image/webp", files.WEBP[:30]),
        ("image/webp", b"RIFF\xff\xff\xff\xffWEBP"),
    ],
)
def test_a_damaged_picture_is_refused_not_stored_with_its_metadata(
    content_type, damaged
):
    with pytest.raises(ImageDamaged):
        metadata_stripped(content_type, damaged)
