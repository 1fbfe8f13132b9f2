"""The token endpoint: POST /api/v1/auth/token/ {username, password} -> {token}."""

from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.views import ObtainAuthToken

from chat.api.serializers import TokenRequestSerializer, TokenSerializer
from chat.api.throttles import ScopedThrottle


class TokenView(ObtainAuthToken):
    # Guessing passwords through the API is throttled like the login form.
    throttle_classes = [ScopedThrottle]
    throttle_scope = "login"

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer)
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
