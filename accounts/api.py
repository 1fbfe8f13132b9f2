"""The token endpoint: POST /api/v1/auth/token/ {username, password} -> {token}."""

from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from chat.api.serializers import TokenRequestSerializer, TokenSerializer


class TokenView(ObtainAuthToken):
    # Guessing passwords through the API is throttled like the login form.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
    # ObtainAuthToken names DRF's own parsers; the API's decode JSON strictly.
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer)
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
