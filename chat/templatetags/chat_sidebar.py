"""`{% chat_sidebar %}`: the signed-in user's rooms and conversations with badges.

Rendered on the server so the page is useful before the socket connects;
static/chat/app.js then keeps it live.
"""

from django import template

from chat import selectors

register = template.Library()


@register.inclusion_tag("chat/_sidebar.html", takes_context=True)
def chat_sidebar(context):
    user = context["request"].user
    rooms = selectors.room_list_for_user(user=user).filter(is_member=True)
    return {
        "rooms": rooms,
        "directs": selectors.direct_list_for_user(user=user),
        "current": context.get("room"),
        "csrf_token": context.get("csrf_token"),
    }
