"""The chat socket at /ws/chat/: parse a frame, authorise it, call a service, answer.

One consumer per socket, carrying many rooms. Sections in order: connection hooks,
client commands (one method per frame type), the events delivery leaves to the
consumer (the room was taken away, the session ended). Errors raised anywhere below
`receive` become `error` frames in one place. How events reach the socket, in order
and without gaps, is chat.delivery's: the consumer has no channel of its own, and
every frame it sends goes through the same writer as the hub's.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from chat import (
    events,
    languages,
    metrics,
    protocol,
    reactions,
    selectors,
    services,
    socket_credentials,
)
from chat.db_threads import in_db_thread
from chat.delivery import joining
from chat.delivery.frames import Wire
from chat.delivery.hub import hub
from chat.delivery.sockets import SocketDelivery, Subscription
from chat.delivery.writers import writer_for
from chat.errors import (
    AccountDisabled,
    ChatError,
    NotFound,
    NotSubscribed,
    SessionEnded,
)
from chat.presence import registry as presence
from chatsite import server_adapter

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_SILENT = 4408
CLOSE_FLOODING = 4429
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011

# Error answers that are not the client's fault do not count towards 4429.
NOT_FLOODING = {
    "unauthenticated",
    "too_many_connections",
    "account_disabled",
    "server_error",
}


# What the client reader puts in the inbox when reading failed (the consumer's loop
# raises the error).
RECEIVE_FAILED = "socket.receive_failed"


async def read_client(receive, inbox) -> None:
    """Put what the server receives for this socket (connect, the client's frames,
    disconnect) in the socket's inbox, beside what the hub puts there: one queue,
    read in arrival order by the consumer's loop. One reader task instead of
    Channels' `await_many_dispatch`, which keeps a task per source and an
    `asyncio.wait` per socket (memory every idle socket pays)."""
    try:
        while True:
            inbox.put_nowait(await receive())
    except Exception as error:
        inbox.put_nowait({"type": RECEIVE_FAILED, "error": error})


class ChatConsumer(AsyncWebsocketConsumer):
    cleaned_up = False  # until connect() registers something to clean up

    async def __call__(self, scope, receive, send):
        # Channels' own loop, without a layer channel per socket: the process's hub
        # (chat.delivery) receives the layer's events once and hands this socket
        # its share, directly or through its inbox, read here beside the client's
        # frames.
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        # Unique across server processes: presence entries, typing's sender.
        self.socket_name = f"socket.{uuid.uuid4().hex}"
        self.delivery = SocketDelivery(
            name=self.socket_name, writer=writer_for(scope, send)
        )
        # Whatever ends this consumer, its cleanup runs: the client's close (the
        # usual way, through `disconnect`), an exception in a handler, a send on a
        # connection that closed under it (Daphne then delivers no disconnect), a
        # cancellation. Otherwise its per-user slot, presence entries and groups
        # would outlive the socket, refreshed forever by this process.
        inbox = self.delivery.inbox
        reader = asyncio.get_running_loop().create_task(read_client(receive, inbox))
        try:
            while True:
                message = await inbox.get()
                if message["type"] == RECEIVE_FAILED:
                    raise message["error"]
                await self.dispatch(message)
        except StopConsumer:
            pass
        except server_adapter.SOCKET_GONE:
            pass  # the client left while we answered it: nothing to report
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            if getattr(self, "user", None) is not None and not self.cleaned_up:
                await self.disconnect(None)

    async def dispatch(self, message):
        # Handlers are called straight: Channels (4.2+) would run
        # `close_old_connections` through the thread pool before each one, a thread
        # hop per frame serialised on the database thread (docs/benchmarks.md); all
        # our database work goes through `chat.db_threads`, which closes stale
        # connections around each call itself.
        if message["type"].startswith("chat."):
            # From the socket's inbox (chat.delivery): in arrival order, one at a
            # time; live events wait behind it.
            try:
                if not await self.delivery.handle(message):
                    await self.handler_for(message)(message)
            finally:
                self.delivery.handled()
            return
        await self.handler_for(message)(message)

    def handler_for(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        return handler

    # ---- connection hooks -------------------------------------------------------

    async def connect(self):
        # Channels runs every handler of this consumer in one asyncio task, and
        # Django's active language is a context variable: activated here, it holds
        # for this socket's later frames and events, and chat.db_threads
        # carries it into the database threads (tests/consumers/test_languages.py).
        translation.activate(languages.socket_language(self.scope))
        self.user = self.scope.get("user")
        self.closing = False
        self.cleaned_up = False
        self.typing_sent_at = float("-inf")
        # When this socket's recent error frames were sent (made on the first: most
        # sockets never get one, and an empty deque costs 600 bytes).
        self.error_times: deque[float] | None = None
        self.heartbeat_timer: asyncio.TimerHandle | None = None
        self.heartbeat_close_task: asyncio.Task | None = None
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
        # The right to hold this socket: checked by this process's sweep from now
        # on, and by every write this socket makes.
        self.credential = socket_credentials.Credential(
            user_id=self.user.pk,
            session_key=self.scope["session"].session_key,
            password=self.user.password,
        )
        heartbeat = settings.CHAT_HEARTBEAT_SECONDS
        # The user's events wait until the socket is accepted and greeted.
        with self.delivery.holding():
            await hub().attach(self.delivery, user_id=self.user.pk)
            socket_credentials.sweep().add(
                self.socket_name, self.credential, self.credentials_ended
            )
            metrics.open_sockets.inc()
            self.counted_open = True
            await self.accept()
            self.send_frame(
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
        socket_credentials.sweep().discard(self.socket_name)
        if self.counted_open:
            metrics.open_sockets.dec()
        rooms = list(self.delivery.subscriptions)
        # Delivery first: it forgets the socket whatever the layer says.
        await hub().detach(self.delivery)
        await presence.disconnected(self)
        for room_id in rooms:
            await presence.leave(
                room_id=room_id, user_id=self.user.pk, socket=self.socket_name
            )

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
            await self.send_error(
                error.code, error.detail, protocol.frame_ref(frame), error.fields()
            )
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
        # The room's live events wait until the replay and `subscribed` are sent.
        with self.delivery.holding():
            room, counts = await joining.join_room(
                self.delivery, user=self.user, slug=command.room
            )
            new = room.pk not in self.delivery.subscriptions
            try:
                more = await self.delivery.start(
                    room, last_id=counts["last_id"], since=command.since
                )
            except BaseException:
                if new:
                    await hub().leave_room(self.delivery, room.pk)
                raise
            self.send_frame(
                {
                    "type": "subscribed",
                    "room": room.slug,
                    "last_id": counts["last_id"],
                    "more": more,
                    "unread_count": counts["unread_count"],
                    "mention_count": counts["mention_count"],
                    "last_read_id": counts["last_read_id"],
                }
            )
        try:
            if new:
                await presence.enter(
                    room_id=room.pk,
                    room_slug=room.slug,
                    user_id=self.user.pk,
                    socket=self.socket_name,
                )
            frame = await presence.frame_for_subscriber(room.pk, room.slug)
            if frame is not None:
                self.send_frame(frame)
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
            await self.delivery.deliver_from_history(
                subscription, up_to_id=posted.message.pk
            )
        elif not posted.created:
            # This socket already delivered it: acknowledge it again, as asked.
            metrics.delivered_repair.inc()
            self.send_frame(
                {
                    "type": "message.new",
                    "room": subscription.room.slug,
                    "message": protocol.message_object(
                        posted.message, room_slug=subscription.room.slug
                    ),
                    "replay": False,
                }
            )
        elif not posted.event["sent"]:
            # The layer refused the broadcast, so no acknowledgement is on its way:
            # deliver it here, through the same ordered path as a live event.
            await self.delivery.deliver_live(subscription, posted.event)

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
        await events.typing(
            room_id=subscription.room.pk, sender=self.socket_name, frame=frame
        )

    async def read(self, command: protocol.Read):
        subscription = self.subscription_for(command.room)
        await self.writing(services.membership_mark_read)(
            user=self.user, room=subscription.room, last_id=command.last_id
        )

    async def ping(self, command: protocol.Ping):
        self.send_frame({"type": "pong"})

    async def direct_open(self, command: protocol.DirectOpen):
        room, created = await self.writing(services.direct_open_by_username)(
            user=self.user, username=command.username
        )
        self.send_frame(
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

    # ---- events delivery leaves to the consumer ------------------------------------

    async def chat_room_removed(self, event):
        subscription = self.delivery.subscriptions.get(event["room_id"])
        if subscription is None:
            return
        await self.drop_subscription(subscription)
        self.send_text(event["frame"])

    async def chat_user_deactivated(self, event):
        await self.end_because(AccountDisabled())

    async def chat_credentials_ended(self, event):
        # From this process's sweep (chat.socket_credentials).
        await self.end_because(socket_credentials.ENDINGS[event["code"]]())

    async def chat_delivery_failed(self, event):
        # The hub could not deliver to this socket: its cursors cannot be trusted,
        # so the client reconnects and resumes with `since`.
        await self.close_with(CLOSE_INTERNAL_ERROR)

    # ---- helpers -----------------------------------------------------------------

    def subscription_for(self, slug: str) -> Subscription:
        # A socket holds few rooms; live events, the hot path, look up by id instead.
        for subscription in self.delivery.subscriptions.values():
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

    async def drop_subscription(self, subscription: Subscription):
        room_id = subscription.room.pk
        await hub().leave_room(self.delivery, room_id)
        await presence.leave(
            room_id=room_id, user_id=self.user.pk, socket=self.socket_name
        )

    def send_frame(self, frame: dict) -> None:
        self.send_text(protocol.encode(frame))

    def send_text(self, text: str) -> None:
        """Every frame of this socket goes through its writer: one order for the
        consumer's answers and the hub's deliveries."""
        self.delivery.writer.write(Wire(text))

    async def send(self, text_data=None, bytes_data=None, close=False):
        raise NotImplementedError("send_text: frames go through the socket's writer")

    async def send_error(
        self, code: str, detail: str, ref: str | None, fields: dict | None = None
    ):
        self.send_frame(protocol.error_frame(code, detail, ref, fields))
        metrics.errors.labels("websocket", code).inc()
        if code in NOT_FLOODING:
            return
        now = time.monotonic()
        if self.error_times is None:
            self.error_times = deque()
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

    def credentials_ended(self, code: str) -> None:
        """Called by this process's sweep: the socket's task ends it, in order."""
        self.delivery.enqueue({"type": "chat.credentials.ended", "code": code})

    async def close_with(self, code: int):
        self.closing = True
        self.delivery.closed = True  # nothing more from the hub
        await self.delivery.writer.close(code)

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
