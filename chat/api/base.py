"""The base of every REST view: throttles are checked before permissions."""

from rest_framework.views import APIView


class ChatAPIView(APIView):
    # DRF checks permissions first, so a caller who is refused (an anonymous flood of
    # 401s) would never be throttled. Throttling first counts every request.
    def check_permissions(self, request):
        self.check_throttles(request)
        super().check_permissions(request)

    def check_throttles(self, request):
        if getattr(request, "throttles_checked", False):
            return
        request.throttles_checked = True
        super().check_throttles(request)
