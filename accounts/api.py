"""Account endpoints of the API: POST /api/v1/auth/token/ {username, password} ->
{token}, and POST /api/v1/auth/logout/, which ends what authenticated the call."""

from django.contrib.auth import logout
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from chat.api.serializers import TokenRequestSerializer, TokenSerializer
from chat.api.throttles import ScopedThrottle


class TokenView(ObtainAuthToken):
    # Guessing passwords through the API is throttled like the login form.
    throttle_classes = [ScopedThrottle]
    throttle_scope = "login"
    # ObtainAuthToken names DRF's own parsers; the API's decode JSON strictly.
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer)
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutView(APIView):
    """Called with a token: the token is revoked (every client using it is signed
    out). Called with the session: the session ends, as the web page's "Log out"
    does, and its sockets close within a second."""

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Done.")})
    def post(self, request):
        if isinstance(request.auth, Token):
            request.auth.delete()
        else:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
