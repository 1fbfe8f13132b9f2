"""Sign-up: create an account and sign the new user in straight away; throttled
per client address, and refusing usernames that look like existing ones."""

from django.contrib.auth import login
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.generic import CreateView

from accounts.forms import SignUpForm
from chat.api.throttles import SignUpThrottle


class SignUpView(CreateView):
    form_class = SignUpForm
    template_name = "registration/signup.html"
    success_url = reverse_lazy("room-list")

    def post(self, request, *args, **kwargs):
        # Every attempt counts, successful or not: a refused one (a name taken, a
        # look-alike) also tells the caller something about who is registered.
        throttle = SignUpThrottle()
        if not throttle.allow_request(request, self):
            return self.throttled(request, retry_after=throttle.wait())
        return super().post(request, *args, **kwargs)

    def throttled(self, request, *, retry_after: float | None):
        # An empty form: the refused one is not validated, so it answers nothing
        # about the name it carried.
        self.object = None
        seconds = max(1, int(retry_after or 1))
        refusal = _(
            "Too many sign-ups from your address; try again in %(seconds)d s."
        ) % {"seconds": seconds}
        context = self.get_context_data(form=self.form_class(), refusal=refusal)
        response = self.render_to_response(context)
        response.status_code = 429
        response["Retry-After"] = str(seconds)
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        login(
            self.request,
            self.object,
            backend="django.contrib.auth.backends.ModelBackend",
        )
        return response
