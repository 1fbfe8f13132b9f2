"""The web UI's pages: the room list (create, join), a room's chat page, search.

Views only parse, call a selector or service, and render; the page's live part is
static/chat/room.js talking the socket protocol.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chat import selectors, services
from chat.errors import ChatError, RoomNotFound, SearchQueryInvalid
from chat.forms import DirectOpenForm, RoomCreateForm
from chat.search import message_search, search_highlight


@login_required
def room_list(request):
    rooms = selectors.room_list_for_user(user=request.user)
    return render(
        request, "chat/room_list.html", {"rooms": rooms, "form": RoomCreateForm()}
    )


@login_required
@require_POST
def room_create(request):
    form = RoomCreateForm(request.POST)
    if form.is_valid():
        try:
            room = services.room_create(owner=request.user, **form.cleaned_data)
        except ChatError as error:
            form.add_error("slug", error.detail)
        else:
            return redirect("room-detail", slug=room.slug)
    rooms = selectors.room_list_for_user(user=request.user)
    return render(
        request, "chat/room_list.html", {"rooms": rooms, "form": form}, status=400
    )


@login_required
@require_POST
def room_join(request, slug):
    try:
        room = selectors.room_get_visible(user=request.user, slug=slug)
        services.room_join(user=request.user, room=room)
    except RoomNotFound:
        raise Http404(_("No such room.")) from None
    except ChatError as error:
        # Banned: the room page says so, and offers no Join.
        messages.error(request, error.detail)
    return redirect("room-detail", slug=room.slug)


@login_required
@require_POST
def room_leave(request, slug):
    try:
        room = selectors.room_get_visible(user=request.user, slug=slug)
        services.room_leave(user=request.user, room=room)
    except RoomNotFound:
        raise Http404(_("No such room.")) from None
    except ChatError as error:
        messages.error(request, error.detail)
    return redirect("room-list")


@login_required
def room_detail(request, slug):
    try:
        room = selectors.room_get_visible(user=request.user, slug=slug)
    except RoomNotFound:
        raise Http404(_("No such room.")) from None
    membership = selectors.membership_of(user=request.user, room=room)
    banned = membership is None and selectors.room_ban_exists(
        user=request.user, room=room
    )
    peer = selectors.direct_peer(room=room, user=request.user)
    return render(
        request,
        "chat/room.html",
        {
            "room": room,
            "membership": membership,
            "banned": banned,
            "peer": peer,
            # The page refuses a too-large file before uploading it.
            "attachment_max_bytes": settings.CHAT_ATTACHMENT_MAX_BYTES,
            "edit_window_seconds": settings.CHAT_EDIT_WINDOW_SECONDS,
        },
    )


@login_required
@require_POST
def direct_open(request):
    """The sidebar's "message someone" form: go to the conversation with them."""
    form = DirectOpenForm(request.POST)
    if not form.is_valid():  # empty, too long, or holding NUL
        messages.error(request, form.errors["username"][0])
        return redirect("room-list")
    try:
        room, _created = services.direct_open_by_username(
            user=request.user, username=form.cleaned_data["username"]
        )
    except ChatError as error:
        messages.error(request, error.detail)
        return redirect("room-list")
    return redirect("room-detail", slug=room.slug)


SEARCH_PAGE_SIZE = 20


@login_required
def search(request):
    """Search results of the top bar's box, newest first, with an "older" link."""
    query = request.GET.get("q", "")
    before = request.GET.get("before", "")
    valid_before = before.isascii() and before.isdigit() and len(before) <= 18
    before = int(before) if valid_before else None
    context = {"search_query": query, "results": [], "older_query": None}
    if not query.strip():
        return render(request, "chat/search.html", context)  # nothing asked yet
    try:
        page = message_search(
            user=request.user, query=query, before=before, limit=SEARCH_PAGE_SIZE + 1
        )
    except SearchQueryInvalid as error:
        context["error"] = error.detail
        return render(request, "chat/search.html", context, status=400)
    if len(page) > SEARCH_PAGE_SIZE:
        page = page[:SEARCH_PAGE_SIZE]
        context["older_query"] = urlencode({"q": query, "before": page[-1].pk})
    context["results"] = [
        {"message": message, "pieces": search_highlight(message.body, query)}
        for message in page
    ]
    return render(request, "chat/search.html", context)
