"""The errors a chat operation can end in, each carrying its contract error code.

Services and the protocol parser raise these; the consumer turns them into `error`
frames and the REST API into 4xx responses, each in one place.
"""


class ChatError(Exception):
    """An operation refused for a reason the client is told about."""

    code = "error"
    default_detail = "The request was refused."

    def __init__(self, detail: str | None = None):
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class BadJson(ChatError):
    code = "bad_json"
    default_detail = "The frame is not valid JSON."


class BadFrame(ChatError):
    code = "bad_frame"
    default_detail = "The frame is malformed."


class UnknownType(ChatError):
    code = "unknown_type"
    default_detail = "Unknown frame type."


class RoomNotFound(ChatError):
    code = "room_not_found"
    default_detail = "No such room."


class NotMember(ChatError):
    code = "not_member"
    default_detail = "You are not a member of this room; join it first."


class NotSubscribed(ChatError):
    code = "not_subscribed"
    default_detail = "Subscribe to the room first."


class BodyEmpty(ChatError):
    code = "body_empty"
    default_detail = "The message is empty."


class BodyTooLong(ChatError):
    code = "body_too_long"
    default_detail = "The message is too long."


class RateLimited(ChatError):
    code = "rate_limited"
    default_detail = "Too many requests; slow down."

    def __init__(self, detail: str | None = None, *, retry_after: int = 1):
        super().__init__(detail)
        self.retry_after = retry_after


class Muted(ChatError):
    code = "muted"
    default_detail = "You are muted in this room."


class PermissionDenied(ChatError):
    code = "forbidden"
    default_detail = "You may not do that."


class InvalidInput(ChatError):
    """A value that fails validation (room slug taken, bad name...)."""

    code = "invalid"
    default_detail = "Invalid input."


class Banned(ChatError):
    code = "banned"
    default_detail = "You are banned from this room."


class NotFound(ChatError):
    """Something other than a room (a user, a message) that does not exist or that
    the caller may not see."""

    code = "not_found"
    default_detail = "Not found."
