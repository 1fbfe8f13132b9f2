"""The errors a chat operation can end in, each carrying its contract error code.

Services and the protocol parser raise these; the consumer turns them into `error`
frames and the REST API into 4xx responses, each in one place. Details are in the
language active where the error is raised (the request's, or the socket's, see
chat.languages); codes are never translated.
"""

from django.utils.translation import gettext_lazy as _


class ChatError(Exception):
    """An operation refused for a reason the client is told about."""

    code = "error"
    default_detail = _("The request was refused.")

    def __init__(self, detail: str | None = None):
        # Rendered now, in the active language: the detail goes into JSON as a str.
        self.detail = str(detail or self.default_detail)
        super().__init__(self.detail)

    def fields(self) -> dict:
        """Facts for the client beside `code` and `detail` (in the socket's `error`
        frame and the REST answer's body alike)."""
        return {}


class BadJson(ChatError):
    code = "bad_json"
    default_detail = _("The frame is not valid JSON.")


class BadFrame(ChatError):
    code = "bad_frame"
    default_detail = _("The frame is malformed.")


class UnknownType(ChatError):
    code = "unknown_type"
    default_detail = _("Unknown frame type.")


class RoomNotFound(ChatError):
    code = "room_not_found"
    default_detail = _("No such room.")


class NotMember(ChatError):
    code = "not_member"
    default_detail = _("You are not a member of this room; join it first.")


class NotSubscribed(ChatError):
    code = "not_subscribed"
    default_detail = _("Subscribe to the room first.")


class BodyEmpty(ChatError):
    code = "body_empty"
    default_detail = _("The message is empty.")


class BodyTooLong(ChatError):
    code = "body_too_long"
    default_detail = _("The message is too long.")


class RateLimited(ChatError):
    code = "rate_limited"
    default_detail = _("Too many requests; slow down.")

    def __init__(self, detail: str | None = None, *, retry_after: int = 1):
        super().__init__(detail)
        self.retry_after = retry_after

    def fields(self) -> dict:
        return {"retry_after": self.retry_after}


class Muted(ChatError):
    """The member is muted in the room until `muted_until` (when known)."""

    code = "muted"
    default_detail = _("You are muted in this room.")

    def __init__(self, detail: str | None = None, *, muted_until=None):
        if detail is None and muted_until is not None:
            detail = _("You are muted here until %(until)s UTC.") % {
                "until": f"{muted_until:%Y-%m-%d %H:%M}"
            }
        super().__init__(detail)
        self.muted_until = muted_until

    def fields(self) -> dict:
        if self.muted_until is None:
            return {}
        from chat.protocol import timestamp

        return {"muted_until": timestamp(self.muted_until)}


class PermissionDenied(ChatError):
    code = "forbidden"
    default_detail = _("You may not do that.")


class InvalidInput(ChatError):
    """A value that fails validation (room slug taken, bad name...)."""

    code = "invalid"
    default_detail = _("Invalid input.")


class Banned(ChatError):
    code = "banned"
    default_detail = _("You are banned from this room.")


class NotFound(ChatError):
    """Something other than a room (a user, a message) that does not exist or that
    the caller may not see."""

    code = "not_found"
    default_detail = _("Not found.")


class TooLarge(ChatError):
    """An uploaded file above CHAT_ATTACHMENT_MAX_BYTES."""

    code = "too_large"
    default_detail = _("The file is too large.")


class UnsupportedType(ChatError):
    """An uploaded file whose content is not one of the allowed types."""

    code = "unsupported_type"
    default_detail = _("This kind of file is not accepted.")


class AttachmentInvalid(ChatError):
    """A message names attachments it may not carry (someone else's, already sent,
    uploaded to another room, unknown, or too many)."""

    code = "attachment_invalid"
    default_detail = _("These attachments cannot be sent with this message.")


class EditWindowClosed(ChatError):
    code = "edit_window_closed"
    default_detail = _("This message can no longer be edited.")


class InvalidEmoji(ChatError):
    code = "invalid_emoji"
    default_detail = _("A reaction must be a single emoji.")


class TooManyReactions(ChatError):
    code = "too_many_reactions"
    default_detail = _("This message has as many different reactions as it may have.")


class SearchQueryInvalid(ChatError):
    """A search query that is empty or too long."""

    code = "invalid_query"
    default_detail = _("Type something to search for.")


class SessionEnded(ChatError):
    """The socket's session is over: signed out, expired, or the password changed.
    The socket is closed with 4401."""

    code = "unauthenticated"
    default_detail = _("Your session has ended; sign in again.")


class AccountDisabled(ChatError):
    """The account was deactivated. The socket is closed with 4403."""

    code = "account_disabled"
    default_detail = _("This account has been deactivated.")
