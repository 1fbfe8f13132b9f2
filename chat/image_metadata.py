"""Removing what a picture says about the person who took it, before it is stored.

Photos from phones carry EXIF (GPS position, camera, time taken), XMP, IPTC and
comments; a chat shares them with everyone in the room unless they are removed.
This rewrites JPEG, PNG and WebP files at the byte level, without decoding or
re-encoding the image (no quality loss, no image library): metadata segments and
chunks are dropped, what display needs is kept (JPEG orientation, colour profiles).
A file whose structure cannot be followed raises ImageDamaged rather than being
stored with its metadata.
"""

import struct

JPEG_SOI = b"\xff\xd8"
# APP0 (JFIF), APP14 (Adobe colour transform) are needed to decode; APP2 only as an
# ICC profile (its other use, MPF, points at extra images we cut off). Every other
# APPn and COM is metadata.
JPEG_APP0, JPEG_APP1, JPEG_APP2, JPEG_APP14 = 0xE0, 0xE1, 0xE2, 0xEE
JPEG_COM, JPEG_SOS, JPEG_EOI = 0xFE, 0xDA, 0xD9
JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: no length
EXIF_HEADER = b"Exif\x00\x00"
EXIF_ORIENTATION = 0x0112

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_METADATA_CHUNKS = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}

WEBP_METADATA_CHUNKS = {b"EXIF", b"XMP "}
WEBP_VP8X_EXIF, WEBP_VP8X_XMP = 0x08, 0x04


class ImageDamaged(ValueError):
    """The file claims an image type but its structure cannot be followed."""


def metadata_stripped(content_type: str, data: bytes) -> bytes:
    """The image without its metadata; other types are returned unchanged."""
    if content_type == "image/jpeg":
        return _jpeg_stripped(data)
    if content_type == "image/png":
        return _png_stripped(data)
    if content_type == "image/webp":
        return _webp_stripped(data)
    return data


# ---- JPEG --------------------------------------------------------------------------


def _jpeg_stripped(data: bytes) -> bytes:
    if not data.startswith(JPEG_SOI):
        raise ImageDamaged("no JPEG start marker")
    kept = [JPEG_SOI]
    position = 2
    while True:
        marker, position = _jpeg_marker(data, position)
        if marker == JPEG_EOI:
            # Anything after the end (phones append previews, depth maps, each with
            # their own EXIF) is cut off.
            kept.append(b"\xff\xd9")
            return b"".join(kept)
        if marker in JPEG_STANDALONE:
            kept.append(bytes((0xFF, marker)))
            continue
        if position + 2 > len(data):
            raise ImageDamaged("JPEG segment without its length")
        (length,) = struct.unpack(">H", data[position : position + 2])
        end = position + length
        if length < 2 or end > len(data):
            raise ImageDamaged("JPEG segment runs past the end of the file")
        payload = data[position + 2 : end]
        segment = data[position - 2 : end]
        if marker == JPEG_APP1 and payload.startswith(EXIF_HEADER):
            orientation = _exif_orientation(payload[len(EXIF_HEADER) :])
            if orientation not in (None, 1):
                kept.append(_exif_with_only_orientation(orientation))
        elif marker in (JPEG_APP0, JPEG_APP14) or (
            marker == JPEG_APP2 and payload.startswith(b"ICC_PROFILE\x00")
        ):
            kept.append(segment)
        elif 0xE0 <= marker <= 0xEF or marker == JPEG_COM:
            pass  # metadata
        else:
            kept.append(segment)
        position = end
        if marker == JPEG_SOS:
            scan_end = _jpeg_scan_end(data, position)
            kept.append(data[position:scan_end])
            position = scan_end


def _jpeg_marker(data: bytes, position: int) -> tuple[int, int]:
    """The marker at `position` (fill bytes allowed) and the position after it."""
    if position >= len(data) or data[position] != 0xFF:
        raise ImageDamaged("JPEG marker expected")
    while position < len(data) and data[position] == 0xFF:
        position += 1
    if position >= len(data):
        raise ImageDamaged("JPEG ends inside a marker")
    return data[position], position + 1


def _jpeg_scan_end(data: bytes, position: int) -> int:
    """Where the entropy-coded data after a scan header ends: at the next marker
    that is neither stuffing (FF00) nor a restart marker."""
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            raise ImageDamaged("JPEG ends inside image data")
        following = data[position + 1]
        if following == 0x00 or following == 0xFF or 0xD0 <= following <= 0xD7:
            position += 1 if following == 0xFF else 2
            continue
        return position


def _exif_orientation(tiff: bytes) -> int | None:
    """The Orientation tag of IFD0 in an EXIF TIFF block, or None."""
    try:
        order = {b"II": "<", b"MM": ">"}[tiff[:2]]
        (ifd,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
        for index in range(count):
            entry = ifd + 2 + 12 * index
            tag, kind, _count = struct.unpack(order + "HHI", tiff[entry : entry + 8])
            if tag == EXIF_ORIENTATION and kind == 3:  # SHORT
                (value,) = struct.unpack(order + "H", tiff[entry + 8 : entry + 10])
                return value if 1 <= value <= 8 else None
    except (KeyError, struct.error):
        return None
    return None


def _exif_with_only_orientation(orientation: int) -> bytes:
    """An APP1 segment whose EXIF holds the orientation and nothing else, so that a
    photo taken sideways still shows upright."""
    tiff = (
        b"MM\x00\x2a\x00\x00\x00\x08"  # big-endian TIFF, IFD0 at offset 8
        + struct.pack(">H", 1)  # one entry
        + struct.pack(">HHIHH", EXIF_ORIENTATION, 3, 1, orientation, 0)
        + struct.pack(">I", 0)  # no next IFD
    )
    payload = EXIF_HEADER + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


# ---- PNG ---------------------------------------------------------------------------


def _png_stripped(data: bytes) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise ImageDamaged("no PNG signature")
    kept = [PNG_SIGNATURE]
    position = len(PNG_SIGNATURE)
    while position < len(data):
        if position + 8 > len(data):
            raise ImageDamaged("PNG chunk header cut short")
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 12 + length
        if end > len(data):
            raise ImageDamaged("PNG chunk runs past the end of the file")
        if kind not in PNG_METADATA_CHUNKS:
            kept.append(data[position:end])
        position = end
        if kind == b"IEND":
            return b"".join(kept)  # and nothing after it
    raise ImageDamaged("PNG without its end chunk")


# ---- WebP --------------------------------------------------------------------------


def _webp_stripped(data: bytes) -> bytes:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ImageDamaged("no WebP header")
    (riff_size,) = struct.unpack("<I", data[4:8])
    body_end = 8 + riff_size
    if body_end > len(data):
        raise ImageDamaged("WebP file cut short")
    chunks = []
    position = 12
    while position < body_end:
        if position + 8 > body_end:
            raise ImageDamaged("WebP chunk header cut short")
        kind, size = struct.unpack("<4sI", data[position : position + 8])
        end = position + 8 + size + (size & 1)
        if end > body_end:
            raise ImageDamaged("WebP chunk runs past the end of the file")
        chunk = data[position:end]
        if kind == b"VP8X" and size >= 1:
            flags = chunk[8] & ~(WEBP_VP8X_EXIF | WEBP_VP8X_XMP)
            chunk = chunk[:8] + bytes((flags,)) + chunk[9:]
        if kind not in WEBP_METADATA_CHUNKS:
            chunks.append(chunk)
        position = end
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body
