"""Forms of the web UI."""

from django import forms


class RoomCreateForm(forms.Form):
    slug = forms.SlugField(
        max_length=64, allow_unicode=True, help_text="Used in the address."
    )
    name = forms.CharField(max_length=100)
    topic = forms.CharField(max_length=300, required=False)
    is_private = forms.BooleanField(required=False, label="Private")
