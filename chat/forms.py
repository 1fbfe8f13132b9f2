"""Forms of the web UI."""

from django import forms
from django.utils.translation import gettext_lazy as _


class RoomCreateForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"))
    slug = forms.SlugField(
        max_length=64,
        allow_unicode=True,
        label=_("Address"),
        # Django does not escape help text: no angle brackets here.
        help_text=_(
            "The end of the room's web address, /rooms/…/: letters, digits, - and _ "
            "(suggested from the name)."
        ),
        # The browser checks it as the server will (SlugField(allow_unicode)).
        widget=forms.TextInput(attrs={"pattern": r"[\p{L}\p{N}_\-]+"}),
    )
    topic = forms.CharField(max_length=300, required=False, label=_("Topic"))
    is_private = forms.BooleanField(required=False, label=_("Private"))


class DirectOpenForm(forms.Form):
    """The sidebar's "message someone" box."""

    username = forms.CharField(max_length=150, label=_("username"))
