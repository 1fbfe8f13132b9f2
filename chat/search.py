"""Search over the messages of the rooms a user belongs to.

Owns the rules of a search (member rooms only, deleted messages never, newest first,
paged by id) and how text is matched: PostgreSQL full-text search on the GIN index
made by migration 0005, with substring matching for terms in scripts written without
spaces (Chinese, Japanese, Thai...), or substring matching of every term on other
databases. Also cuts a body into marked and unmarked pieces for display. Reads only.
"""

import re

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db import connection
from django.db.models import F, Func
from django.utils.translation import gettext as _

from chat.errors import SearchQueryInvalid
from chat.mentions import mentions_attach
from chat.models import Membership, Message, Room

# Scripts whose words are not separated by spaces: full-text search sees a whole run
# of them as one word, so a term holding any of these characters matches as a
# substring instead. CJK ideographs (and their extensions), kana, Hangul syllables,
# Thai, Lao, Khmer, Myanmar.
NO_SPACE_SCRIPT = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]"
)


class MessageBodyVector(Func):
    """to_tsvector('simple', body): exactly the expression of the GIN index (migration
    0005), which is what lets PostgreSQL use it. 'simple' only lowercases and splits
    on white space and punctuation, the same for every language."""

    template = "to_tsvector('simple'::regconfig, %(expressions)s)"
    output_field = SearchVectorField()

    def __init__(self):
        super().__init__(F("body"))


def search_terms(query: str) -> list[str]:
    """The query's white-space separated terms; raises SearchQueryInvalid when there
    are none or the query is too long."""
    limit = settings.CHAT_SEARCH_QUERY_MAX_CHARS
    if len(query) > limit:
        raise SearchQueryInvalid(
            _("The search is %(length)d characters long; the limit is %(limit)d.")
            % {"length": len(query), "limit": limit}
        )
    terms = query.split()
    if not terms:
        raise SearchQueryInvalid(_("Type something to search for."))
    return terms


def full_text_available() -> bool:
    return connection.vendor == "postgresql"


def message_search(
    *, user, query: str, room: Room | None = None, before: int | None = None, limit: int
) -> list[Message]:
    """Newest first: up to `limit` visible messages with id < `before` that match
    every term of the query, in the rooms the user is a member of (only `room`, if
    given). Each comes with its room, author and mentions loaded."""
    terms = search_terms(query)
    messages = Message.objects.filter(
        room__in=Membership.objects.filter(user=user).values("room"),
        deleted_at__isnull=True,
    )
    if room is not None:
        messages = messages.filter(room=room)
    if before is not None:
        messages = messages.filter(id__lt=before)
    words = [term for term in terms if not NO_SPACE_SCRIPT.search(term)]
    substrings = [term for term in terms if NO_SPACE_SCRIPT.search(term)]
    if full_text_available():
        if words:
            messages = messages.alias(body_vector=MessageBodyVector()).filter(
                body_vector=SearchQuery(
                    " ".join(words), config="simple", search_type="plain"
                )
            )
    else:
        substrings = terms
    for term in substrings:
        messages = messages.filter(body__icontains=term)
    page = messages.select_related("room", "author").order_by("-id")[:limit]
    return mentions_attach(list(page))


def search_highlight(body: str, query: str) -> list[tuple[str, bool]]:
    """The body cut into (text, matched) pieces, matched ones being what the search
    matched: whole words for full-text terms, substrings otherwise; any case."""
    patterns = []
    for term in query.split():
        if full_text_available() and not NO_SPACE_SCRIPT.search(term):
            words = re.findall(r"\w+", term)
            patterns += [rf"(?<!\w){re.escape(word)}(?!\w)" for word in words]
        else:
            patterns.append(re.escape(term))
    if not patterns:
        return [(body, False)]
    # Longest first, so that a term is never cut short by another it starts with.
    pattern = re.compile("|".join(sorted(patterns, key=len, reverse=True)), re.I)
    pieces, position = [], 0
    for match in pattern.finditer(body):
        if match.start() == match.end():
            continue
        if match.start() > position:
            pieces.append((body[position : match.start()], False))
        pieces.append((match.group(), True))
        position = match.end()
    if position < len(body):
        pieces.append((body[position:], False))
    return pieces
