"""Forms of the web UI."""

from django import forms
from django.utils.translation import gettext_lazy as _


class RoomCreateForm(forms.Form):
    slug = forms.SlugField(
        max_length=64,
        allow_unicode=True,
        label=_("Slug"),
        help_text=_("Used in the address."),
    )
    name = forms.CharField(max_length=100, label=_("Name"))
    topic = forms.CharField(max_length=300, required=False, label=_("Topic"))
    is_private = forms.BooleanField(required=False, label=_("Private"))


class DirectOpenForm(forms.Form):
    """The sidebar's "message someone" box."""

    username = forms.CharField(max_length=150, label=_("username"))
