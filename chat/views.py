"""The web UI's pages: the room list (create, join) and a room's chat page.

Views only parse, call a selector or service, and render; the page's live part is
static/chat/room.js talking the socket protocol.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from chat import selectors, services
from chat.errors import ChatError, RoomNotFound
from chat.forms import RoomCreateForm


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
        raise Http404("No such room.") from None
    return redirect("room-detail", slug=room.slug)


@login_required
@require_POST
def room_leave(request, slug):
    try:
        room = selectors.room_get_visible(user=request.user, slug=slug)
        services.room_leave(user=request.user, room=room)
    except RoomNotFound:
        raise Http404("No such room.") from None
    except ChatError as error:
        messages.error(request, error.detail)
    return redirect("room-list")


@login_required
def room_detail(request, slug):
    try:
        room = selectors.room_get_visible(user=request.user, slug=slug)
    except RoomNotFound:
        raise Http404("No such room.") from None
    membership = selectors.membership_of(user=request.user, room=room)
    return render(request, "chat/room.html", {"room": room, "membership": membership})
