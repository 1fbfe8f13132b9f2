"""The chat socket at /ws/chat/: parse a frame, authorise it, call a service, answer.

One consumer per socket, carrying many rooms. Sections in order: connection hooks,
client commands (one method per frame type), channel-layer handlers (which relay
pre-encoded frames). Errors raised anywhere below `receive` become `error` frames in
one place. Channels runs one handler at a time per consumer, so the per-room cursors
below need no lock: a live event that arrives during a replay waits in the channel
until the replay is done.
"""

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from chat import (
    history_pages,
    languages,
    metrics,
    protocol,
    reactions,
    selectors,
    services,
    socket_credentials,
)
from chat.db_threads import in_db_thread
from chat.errors import (
    AccountDisabled,
    ChatError,
    NotFound,
    NotSubscribed,
    SessionEnded,
)
from chat.events import user_group_name
from chat.models import Room
from chat.presence import registry as presence
from chatsite import server_adapter

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_SILENT = 4408
CLOSE_FLOODING = 4429
CLOSE_TOO_BIG = 1009

# Error answers that are not the client's fault do not count towards 4429.
NOT_FLOODING = {
    "unauthenticated",
    "too_many_connections",
    "account_disabled",
    "server_error",
}

# Gap repair and replay read history in pages of this size.
HISTORY_BATCH = 500


@dataclass(slots=True)
class Subscription:
    room: Room
    # The id of the newest message of the room this socket has been given (or has
    # been told about through `subscribed.last_id`). Live events at or below it are
    # duplicates; an event whose `prev_id` is above it reveals a gap to fill.
    cursor: int


class ChatConsumer(AsyncWebsocketConsumer):
    cleaned_up = False  # until connect() registers something to clean up

    async def __call__(self, scope, receive, send):
        # Whatever ends this consumer, its cleanup runs: the client's close (the
        # usual way, through `disconnect`), an exception in a handler, a send on a
        # connection that closed under it (Daphne then delivers no disconnect), a
        # cancellation. Otherwise its per-user slot, presence entries and groups
        # would outlive the socket, refreshed forever by this process.
        try:
            await super().__call__(scope, receive, send)
        except server_adapter.SOCKET_GONE:
            pass  # the client left while we answered it: nothing to report
        finally:
            if getattr(self, "user", None) is not None and not self.cleaned_up:
                await self.disconnect(None)

    async def dispatch(self, message):
        # Channels (4.2+) runs `close_old_connections` through the thread pool before
        # every handler: a thread hop per delivered event, serialised on the one
        # thread that also stores messages. It was a third of the server's time in
        # the fan-out benchmark (docs/benchmarks.md). All our database work goes
        # through `chat.db_threads`, which closes stale connections around each
        # call itself, so events are dispatched straight to their handler.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        # While a handler runs, the layer's direct fan-out leaves this socket's
        # events in its queue: they are delivered after it, in order.
        self.handling = True
        try:
            await handler(message)
        finally:
            self.handling = False

    # ---- connection hooks -------------------------------------------------------

    async def connect(self):
        # Channels runs every handler of this consumer in one asyncio task, and
        # Django's active language is a context variable: activated here, it holds
        # for this socket's later frames and events, and chat.db_threads
        # carries it into the database threads (tests/consumers/test_languages.py).
        translation.activate(languages.socket_language(self.scope))
        self.user = self.scope.get("user")
        self.subscriptions: dict[int, Subscription] = {}  # by room id
        self.closing = False
        self.cleaned_up = False
        self.typing_sent_at = float("-inf")
        self.error_times: deque[float] = deque()
        self.heartbeat_timer: asyncio.TimerHandle | None = None
        self.heartbeat_close_task: asyncio.Task | None = None
        self.handling = False
        self.direct_layer = None  # the layer's direct fan-out, when registered
        self.counted_open = False  # in the open-socket gauge
        if (
            self.user is None
            or not self.user.is_authenticated
            or not self.user.is_active
        ):
            self.user = None  # an inactive account is not this socket's user
            logger.info(
                "socket refused: unauthenticated", extra={"reason": "unauthenticated"}
            )
            await self.accept()
            await self.send_error("unauthenticated", _("Sign in first."), None)
            await self.close_with(CLOSE_UNAUTHENTICATED)
            return
        if not await presence.connected(self, user_id=self.user.pk):
            logger.info(
                "socket refused: too many connections",
                extra={"reason": "too_many_connections", "user_id": self.user.pk},
            )
            await self.accept()
            await self.send_error(
                "too_many_connections",
                _(
                    "At most %(count)d open connections per account; close another "
                    "tab first."
                )
                % {"count": settings.CHAT_MAX_SOCKETS_PER_USER},
                None,
            )
            self.user = None  # nothing was registered: nothing to clean up
            await self.close_with(CLOSE_FLOODING)
            return
        await self.channel_layer.group_add(
            user_group_name(self.user.pk), self.channel_name
        )
        # The right to hold this socket: checked by this process's sweep from now
        # on, and by every write this socket makes.
        self.credential = socket_credentials.Credential(
            user_id=self.user.pk,
            session_key=self.scope["session"].session_key,
            password=self.user.password,
        )
        socket_credentials.sweep().add(self.channel_name, self.credential)
        metrics.open_sockets.inc()
        self.counted_open = True
        await self.accept()
        self.register_direct_delivery()
        heartbeat = settings.CHAT_HEARTBEAT_SECONDS
        await self.send_frame(
            {
                "type": "hello",
                "user": protocol.user_object(self.user),
                "heartbeat": heartbeat,
            }
        )
        self.last_frame_at = time.monotonic()
        self.schedule_silence_check(3 * heartbeat)

    async def disconnect(self, code):
        if self.heartbeat_timer is not None:
            self.heartbeat_timer.cancel()
        if self.user is None or not self.user.is_authenticated or self.cleaned_up:
            return
        self.cleaned_up = True
        socket_credentials.sweep().discard(self.channel_name)
        if self.direct_layer is not None:
            self.direct_layer.discard_direct_receiver(self.channel_name)
        await presence.disconnected(self)
        if self.counted_open:
            metrics.open_sockets.dec()
        await self.channel_layer.group_discard(
            user_group_name(self.user.pk), self.channel_name
        )
        for subscription in list(self.subscriptions.values()):
            await self.drop_subscription(subscription)

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        self.last_frame_at = time.monotonic()
        if text_data is None:
            await self.send_error(
                "bad_frame", _("Binary frames are not accepted."), None
            )
            return
        if self.frame_too_big(text_data):
            await self.close_with(CLOSE_TOO_BIG)
            return
        frame = None
        try:
            frame = protocol.decode_frame(text_data)
            command = protocol.parse_command(frame)
            await self.COMMANDS[type(command)](self, command)
        except (SessionEnded, AccountDisabled) as error:
            await self.end_because(error)
        except ChatError as error:
            await self.send_error(error.code, error.detail, protocol.frame_ref(frame))
        except server_adapter.SOCKET_GONE:
            raise  # no error frame can reach a closed socket
        except Exception:
            # A database or layer outage must not kill the socket: the client is told,
            # and nothing was acknowledged, so it can retry with the same client_id.
            logger.exception(
                "frame failed for user %s",
                self.user.pk,
                extra={"user_id": self.user.pk},
            )
            await self.send_error(
                "server_error",
                _("The server could not complete this request; retry it."),
                protocol.frame_ref(frame),
            )

    # ---- client commands ---------------------------------------------------------

    async def subscribe(self, command: protocol.Subscribe):
        room, _ = await selectors.room_get_for_member_async(
            user=self.user, slug=command.room
        )
        current = self.subscriptions.get(room.pk)
        if current is None:
            # Join the group before reading last_id: every message committed after
            # that read is then broadcast to us, and every one before it is <= last_id.
            await self.channel_layer.group_add(room.group_name, self.channel_name)
        counts = await selectors.room_unread_counts_async(
            user=self.user, room_id=room.pk
        )
        last_id = counts["last_id"]
        more = False
        if command.since is not None:
            page = await history_pages.page_after(
                room_id=room.pk,
                room_slug=room.slug,
                after_id=command.since,
                up_to_id=last_id,
                limit=settings.CHAT_REPLAY_LIMIT + 1,
            )
            more = len(page.ids) > settings.CHAT_REPLAY_LIMIT
            frames = page.frames(replay=True)[: settings.CHAT_REPLAY_LIMIT]
            for frame in frames:
                await self.send(text_data=frame)
            metrics.delivered_replay.inc(len(frames))
            cursor = last_id
        else:
            # No replay asked: live delivery starts after last_id, except that an
            # existing subscription keeps delivering what is already on its way.
            cursor = current.cursor if current is not None else last_id
        self.subscriptions[room.pk] = Subscription(room=room, cursor=cursor)
        await self.send_frame(
            {
                "type": "subscribed",
                "room": room.slug,
                "last_id": last_id,
                "more": more,
                "unread_count": counts["unread_count"],
                "mention_count": counts["mention_count"],
                "last_read_id": counts["last_read_id"],
            }
        )
        try:
            if current is None:
                await presence.enter(
                    room_id=room.pk,
                    room_slug=room.slug,
                    user_id=self.user.pk,
                    channel=self.channel_name,
                )
            frame = await presence.frame_for_subscriber(room.pk, room.slug)
            if frame is not None:
                await self.send_frame(frame)
        except Exception:
            # The subscription stands (the client was told `subscribed`); presence
            # is best effort and catches up on the next refresh or change.
            logger.warning("presence unavailable for room %s", room.pk, exc_info=True)

    async def unsubscribe(self, command: protocol.Unsubscribe):
        subscription = self.subscription_for(command.room)
        await self.drop_subscription(subscription)

    async def message_send(self, command: protocol.MessageSend):
        subscription = self.subscription_for(command.room)
        posted = await services.message_create_async(
            room=subscription.room,
            author=self.user,
            body=command.body,
            client_id=command.client_id,
            attachment_ids=command.attachments,
            holder=self.credential,
        )
        if not posted.created and posted.message.pk > subscription.cursor:
            # A resend of a stored message this socket has not been given yet (its
            # broadcast is still on its way): deliver it, and anything before it, in
            # order now; the broadcast will then be dropped as a duplicate.
            await self.deliver_from_history(subscription, up_to_id=posted.message.pk)
        elif not posted.created:
            # This socket already delivered it: acknowledge it again, as asked.
            await self.send_message_frame(
                posted.message, subscription.room.slug, replay=False
            )
        elif not posted.event["sent"]:
            # The layer refused the broadcast, so no acknowledgement is on its way:
            # deliver it here, through the same ordered path as a live event.
            await self.deliver_live(subscription, posted.event)

    async def typing(self, command: protocol.Typing):
        subscription = self.subscription_for(command.room)
        now = time.monotonic()
        if now - self.typing_sent_at < settings.CHAT_TYPING_INTERVAL_SECONDS:
            return  # relayed recently: clients send these on every keystroke
        self.typing_sent_at = now
        frame = {
            "type": "typing",
            "room": command.room,
            "user": protocol.user_object(self.user),
        }
        await self.channel_layer.group_send(
            subscription.room.group_name,
            {
                "type": "chat.typing",
                "room_id": subscription.room.pk,
                "sender": self.channel_name,
                "frame": protocol.encode(frame),
            },
        )

    async def read(self, command: protocol.Read):
        subscription = self.subscription_for(command.room)
        await self.writing(services.membership_mark_read)(
            user=self.user, room=subscription.room, last_id=command.last_id
        )

    async def ping(self, command: protocol.Ping):
        await self.send_frame({"type": "pong"})

    async def direct_open(self, command: protocol.DirectOpen):
        room, created = await self.writing(services.direct_open_by_username)(
            user=self.user, username=command.username
        )
        await self.send_frame(
            {
                "type": "direct.opened",
                "room": protocol.room_summary(room, peer=room.peer),
                "created": created,
            }
        )

    async def message_edit(self, command: protocol.MessageEdit):
        # No answer of its own: the change reaches subscribed sockets, this one
        # included, as `message.edited`; a refusal is an `error` frame.
        message = await self.readable_message(command.id)
        await self.writing(services.message_edit)(
            message=message, editor=self.user, body=command.body
        )

    async def message_delete(self, command: protocol.MessageDelete):
        message = await self.readable_message(command.id)
        await self.writing(services.message_delete)(message=message, actor=self.user)

    async def reaction_add(self, command: protocol.ReactionAdd):
        message = await self.readable_message(command.message_id)
        await self.writing(reactions.reaction_add)(
            message=message, user=self.user, emoji=command.emoji
        )

    async def reaction_remove(self, command: protocol.ReactionRemove):
        message = await self.readable_message(command.message_id)
        await self.writing(reactions.reaction_remove)(
            message=message, user=self.user, emoji=command.emoji
        )

    COMMANDS = {
        protocol.Subscribe: subscribe,
        protocol.Unsubscribe: unsubscribe,
        protocol.MessageSend: message_send,
        protocol.Typing: typing,
        protocol.Read: read,
        protocol.Ping: ping,
        protocol.DirectOpen: direct_open,
        protocol.MessageEdit: message_edit,
        protocol.MessageDelete: message_delete,
        protocol.ReactionAdd: reaction_add,
        protocol.ReactionRemove: reaction_remove,
    }

    # ---- channel-layer handlers --------------------------------------------------

    async def chat_message_created(self, event):
        subscription = self.subscriptions.get(event["room_id"])
        if subscription is not None:
            await self.deliver_live(subscription, event)

    async def chat_catch_up(self, event):
        """This process noticed the socket is behind its room (chat.presence): a
        broadcast was lost and no later event revealed the gap."""
        subscription = self.subscriptions.get(event["room_id"])
        if subscription is not None and subscription.cursor < event["last_id"]:
            metrics.layer_gaps_repaired.inc()
            await self.deliver_from_history(subscription, up_to_id=event["last_id"])

    async def chat_message_changed(self, event):
        if self.subscriptions.get(event["room_id"]) is not None:
            await self.send(text_data=event["frame"])

    async def chat_typing(self, event):
        if (
            event["sender"] != self.channel_name
            and self.subscriptions.get(event["room_id"]) is not None
        ):
            await self.send(text_data=event["frame"])

    async def chat_room_removed(self, event):
        subscription = self.subscriptions.get(event["room_id"])
        if subscription is None:
            return
        await self.drop_subscription(subscription)
        await self.send(text_data=event["frame"])

    async def chat_presence(self, event):
        if event["room_id"] in self.subscriptions:
            await self.send(text_data=event["frame"])

    async def chat_user_deactivated(self, event):
        await self.end_because(AccountDisabled())

    async def chat_credentials_ended(self, event):
        # From this process's sweep (chat.socket_credentials).
        await self.end_because(socket_credentials.ENDINGS[event["code"]]())

    async def chat_notify(self, event):
        await self.send(text_data=event["frame"])

    async def chat_mention(self, event):
        # To every socket of the mentioned user, subscribed to that room or not.
        await self.send(text_data=event["frame"])

    # ---- helpers -----------------------------------------------------------------

    def group_names(self) -> list[str]:
        return [user_group_name(self.user.pk)] + [
            subscription.room.group_name for subscription in self.subscriptions.values()
        ]

    def subscription_for(self, slug: str) -> Subscription:
        # A socket holds few rooms; live events, the hot path, look up by id instead.
        for subscription in self.subscriptions.values():
            if subscription.room.slug == slug:
                return subscription
        raise NotSubscribed(_("Subscribe to '%(room)s' first.") % {"room": slug[:64]})

    async def readable_message(self, message_id: int):
        """The message if this user may read it (a member of its room, or staff)."""
        message = await in_db_thread(selectors.message_get_readable)(
            user=self.user, message_id=message_id
        )
        if message is None:
            raise NotFound(_("No such message."))
        return message

    async def deliver_live(self, subscription: Subscription, event: dict):
        """Send a new message once, in id order, after any message it follows."""
        if event["id"] <= subscription.cursor:
            return  # already delivered (a replay, a repair, or our own ack)
        if event["prev_id"] > subscription.cursor:
            # Something between our cursor and this message did not reach us (the
            # layer dropped it, or another process's broadcast is still on its way):
            # fetch it from the database so delivery stays gapless and in order.
            metrics.layer_gaps_repaired.inc()
            await self.deliver_from_history(subscription, up_to_id=event["prev_id"])
        await self.send(text_data=event["frame"])
        subscription.cursor = event["id"]
        metrics.delivered_live.inc()
        metrics.broadcast_latency.observe_since(event.get("sent_at"))

    def register_direct_delivery(self):
        """Let the layer write new messages straight to this socket (chat.layers):
        only with the fan-out layer under Daphne."""
        transport = self.scope.get("chat.transport")
        setter = getattr(self.channel_layer, "set_direct_receiver", None)
        if transport is not None and setter is not None:
            self.wire = transport
            setter(self.channel_name, self.deliver_direct)
            self.direct_layer = self.channel_layer

    def deliver_direct(self, event: dict, frame: bytes) -> bool:
        """Called by the layer, outside this consumer's task, for a new message: take
        it (True) only when that is exactly what `deliver_live` would do with no
        database work; otherwise (False) it goes through the queue as usual."""
        if self.handling or self.closing:
            return False
        subscription = self.subscriptions.get(event["room_id"])
        if subscription is None or event["id"] <= subscription.cursor:
            return True  # not subscribed, or already delivered: nothing to send
        if event["prev_id"] != subscription.cursor:
            return False  # a gap: the consumer reads it from the database first
        if not server_adapter.write_frame(self.wire, frame):
            return False
        subscription.cursor = event["id"]
        metrics.delivered_live.inc()
        metrics.direct_fanout.inc()
        metrics.broadcast_latency.observe_since(event.get("sent_at"))
        return True

    async def drop_subscription(self, subscription: Subscription):
        room = subscription.room
        del self.subscriptions[room.pk]
        await self.channel_layer.group_discard(room.group_name, self.channel_name)
        await presence.leave(
            room_id=room.pk, user_id=self.user.pk, channel=self.channel_name
        )

    async def deliver_from_history(self, subscription: Subscription, *, up_to_id: int):
        while subscription.cursor < up_to_id:
            page = await history_pages.page_after(
                room_id=subscription.room.pk,
                room_slug=subscription.room.slug,
                after_id=subscription.cursor,
                up_to_id=up_to_id,
                limit=HISTORY_BATCH,
            )
            # Not asked for with `since`: a frame from the database fills a gap or
            # answers a resend, a repair.
            for frame in page.frames(replay=False):
                await self.send(text_data=frame)
            metrics.delivered_repair.inc(len(page.ids))
            if len(page.ids) < HISTORY_BATCH:
                subscription.cursor = up_to_id
            else:
                subscription.cursor = page.ids[-1]

    async def send_message_frame(self, message, room_slug: str, *, replay: bool):
        # Not asked for with `since`, a frame from the database fills a gap or
        # answers a resend: a repair.
        (metrics.delivered_replay if replay else metrics.delivered_repair).inc()
        await self.send_frame(
            {
                "type": "message.new",
                "room": room_slug,
                "message": protocol.message_object(message, room_slug=room_slug),
                "replay": replay,
            }
        )

    async def send_frame(self, frame: dict):
        await self.send(text_data=protocol.encode(frame))

    async def send_error(self, code: str, detail: str, ref: str | None):
        await self.send_frame(protocol.error_frame(code, detail, ref))
        metrics.errors.labels("websocket", code).inc()
        if code in NOT_FLOODING:
            return
        now = time.monotonic()
        self.error_times.append(now)
        while (
            self.error_times
            and self.error_times[0] < now - settings.CHAT_FLOOD_WINDOW_SECONDS
        ):
            self.error_times.popleft()
        if len(self.error_times) > settings.CHAT_FLOOD_MAX_ERRORS:
            logger.warning(
                "closing a flooding socket of user %s",
                self.user.pk,
                extra={"user_id": self.user.pk, "close_code": CLOSE_FLOODING},
            )
            await self.close_with(CLOSE_FLOODING)

    def writing(self, operation):
        """`operation` for the database threads, refused (SessionEnded or
        AccountDisabled) once this socket's right to exist has ended."""
        return in_db_thread(socket_credentials.while_held(self.credential, operation))

    async def end_because(self, error: SessionEnded | AccountDisabled):
        """This socket's session or account ended: say so, then close (4401/4403)."""
        if self.closing:
            return
        await self.send_error(error.code, error.detail, None)
        await self.close_with(
            CLOSE_FORBIDDEN
            if isinstance(error, AccountDisabled)
            else CLOSE_UNAUTHENTICATED
        )

    async def close_with(self, code: int):
        self.closing = True
        await self.close(code=code)

    async def shut_down(self, code: int):
        """Server shutdown: close, and clean up now (no disconnect event will come)."""
        await self.close_with(code)
        await self.disconnect(code)

    def frame_too_big(self, text: str) -> bool:
        limit = settings.CHAT_MAX_FRAME_BYTES
        # Cheap bounds first: a UTF-8 character takes 1 to 4 bytes.
        if len(text) > limit:
            return True
        if len(text) * 4 <= limit:
            return False
        return len(text.encode("utf-8", "surrogatepass")) > limit

    def schedule_silence_check(self, delay: float):
        loop = asyncio.get_running_loop()
        self.heartbeat_timer = loop.call_later(delay, self.check_silence)

    def check_silence(self):
        # A timer, not a task per socket: an idle socket costs one timer handle.
        limit = 3 * settings.CHAT_HEARTBEAT_SECONDS
        silent_for = time.monotonic() - self.last_frame_at
        if silent_for >= limit:
            self.heartbeat_close_task = asyncio.get_running_loop().create_task(
                self.close_with(CLOSE_SILENT)
            )
        else:
            self.schedule_silence_check(limit - silent_for)
