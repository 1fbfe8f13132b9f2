"""How an event becomes frames on this process's sockets: the delivery engine.

- `hub`: one layer subscription per room and per user for the whole process (not
  per socket); each event is received and decoded once, its frame built once, and
  offered to every local socket of the room or user.
- `sockets`: one socket's side of delivery: per-room cursors, ordering, gap repair
  from the database, catch-up notices; a socket that fails never stops the others.
- `writers`: how a ready frame reaches the connection (the server adapter's direct
  writer under Daphne, the ASGI `send` in order anywhere else).
- `frames`: the WebSocket frame, built once per event, and its permessage-deflate
  variant for the connections that negotiated it.

Who is online is `chat.presence`'s; what a frame means is the consumer's.
"""
