"""What permessage-deflate saves and costs on the chat's frames: a micro-measurement.

    .venv/bin/python bench/compression.py [--repeat 7]

For typical server frames (the benchmark's message.new, a real-looking one, a long
one, and the small frames: typing, presence, hello, pong) it prints the plain and
compressed frame sizes, the server's CPU to build the compressed frame of one
event (chat.delivery.frames: encode, compress, header; done once per event per
process, whatever the number of sockets) against the plain one, and a client's CPU
to inflate it. No server, no network: the full picture under load is
`bench/run.py s1 --deflate` (docs/benchmarks.md).
"""

import argparse
import sys
import timeit
import zlib
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.delivery.frames import (  # noqa: E402
    DEFLATE_MIN_BYTES,
    Wire,
    deflate_message,
    frame_header,
)


def message_new(*, room: str, author: dict, body: str, client_id: str) -> dict:
    """A live message.new as chat.events broadcasts it (chat.protocol's shape)."""
    return {
        "type": "message.new",
        "room": room,
        "message": {
            "id": 1234567,
            "room": room,
            "author": author,
            "body": body,
            "created_at": "2026-11-21T10:00:00.123456Z",
            "edited_at": None,
            "client_id": client_id,
            "attachments": [],
            "reactions": [],
            "mentions": [],
        },
        "replay": False,
    }


ANA = {"id": 5, "username": "ana.lopez"}
FRAMES = {
    "message.new (bench/run.py s1)": message_new(
        room="bench-r0",
        author={"id": 17, "username": "bench17"},
        body="BENCH|s13x9f2a|1234|1763712000.123456|17|E",
        client_id="17-s13x9f2a-1234",
    ),
    "message.new (a chat line)": message_new(
        room="general",
        author=ANA,
        body=(
            "Sounds good, I'll push the fix after lunch and ping you when the "
            "staging deploy is green."
        ),
        client_id="c-7f3a91e2",
    ),
    "message.new (a short reply)": message_new(
        room="general", author=ANA, body="ok!", client_id="c-7f3a91e3"
    ),
    "message.new (1,000 chars)": message_new(
        room="general",
        author=ANA,
        body=(
            "Here is what I found while going through the logs from last night. "
            "The first error shows up at 02:14, when the nightly export starts and "
            "the replica falls behind; after that every request that reads from the "
            "replica times out until the export finishes. "
        )
        * 4,
        client_id="c-7f3a91e4",
    ),
    "presence (8 online)": {
        "type": "presence",
        "room": "general",
        "online": [{"id": i, "username": f"member{i}"} for i in range(8)],
    },
    "hello": {"type": "hello", "user": ANA, "heartbeat": 25},
    "typing": {"type": "typing", "room": "general", "user": ANA},
    "pong": {"type": "pong"},
}


def best_of(function, repeat: int, number: int) -> float:
    """Microseconds per call, the best of `repeat` runs (the least disturbed)."""
    return min(timeit.repeat(function, number=number, repeat=repeat)) / number * 1e6


def inflate(frame: bytes) -> bytes:
    header = 4 if frame[1] & 0x7F == 126 else 2
    inflater = zlib.decompressobj(-15)
    return inflater.decompress(frame[header:] + b"\x00\x00\xff\xff")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    options = parser.parse_args()
    print(
        f"{'frame':<31} {'payload':>7} {'plain':>6} {'deflated':>8} {'saved':>6}"
        f"  {'plain us':>8} {'deflate us':>10} {'inflate us':>10}"
    )
    forced = {}
    for name, frame in FRAMES.items():
        text = orjson.dumps(frame).decode()
        plain = Wire(text).frame
        deflated = Wire(text).deflated_frame(15)
        compressed = deflated is not plain and deflated[0] & 0x40
        if compressed:
            assert inflate(deflated) == text.encode()
        # A fresh Wire per call: what one event costs, once per process.
        plain_us = best_of(
            lambda text=text: Wire(text).frame, options.repeat, options.number
        )
        deflate_us = best_of(
            lambda text=text: Wire(text).deflated_frame(15),
            options.repeat,
            options.number,
        )
        inflate_us = (
            best_of(
                lambda deflated=deflated: inflate(deflated),
                options.repeat,
                options.number,
            )
            if compressed
            else 0.0
        )
        saved = 100 * (1 - len(deflated) / len(plain))
        if not compressed:
            data = deflate_message(text.encode(), 15)
            forced[name] = (len(plain), len(frame_header(0xC1, len(data)) + data))
        print(
            f"{name:<31} {len(text.encode()):>7} {len(plain):>6} {len(deflated):>8}"
            f" {saved:>5.1f}%  {plain_us:>8.2f} {deflate_us:>10.2f} {inflate_us:>10.2f}"
            + ("" if compressed else "  (sent plain)")
        )
    print(
        f"\nPayloads under {DEFLATE_MIN_BYTES} bytes, and payloads that would not "
        "shrink, go out plain on a deflate connection. Compressed anyway: "
        + ", ".join(f"{n} {p} -> {d} bytes" for n, (p, d) in forced.items())
    )
    # What the shared frame means per delivery: one compression, then a lookup for
    # every further socket of the process.
    text = orjson.dumps(FRAMES["message.new (bench/run.py s1)"]).decode()
    for sockets in (2, 10, 200, 500):

        def fan_out_deflated(sockets=sockets):
            wire = Wire(text)
            for _ in range(sockets):
                wire.deflated_frame(15)

        def fan_out_plain(sockets=sockets):
            wire = Wire(text)
            for _ in range(sockets):
                wire.frame  # noqa: B018 - the property builds the frame once

        number = max(20, options.number // sockets)
        deflated_us = best_of(fan_out_deflated, options.repeat, number) / sockets
        plain_us = best_of(fan_out_plain, options.repeat, number) / sockets
        print(
            f"fan-out to {sockets:>3} sockets: frame per delivery {plain_us:.3f} us "
            f"plain, {deflated_us:.3f} us deflated"
        )


if __name__ == "__main__":
    main()
