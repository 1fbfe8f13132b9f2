"""The REST API's JSON parser: JSON decoded as strictly as socket frames are.

DRF's own parser hands the body to the standard library, which recurses once per
nesting level: a body of 100,000 `[` raised RecursionError, a 500. orjson (as in
chat.protocol) refuses nesting deeper than 1024, NaN and Infinity, lone surrogates
and integers beyond 64 bits, each a 400 like any other malformed JSON.
"""

import orjson
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class StrictJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # DRF passes the body already read within DATA_UPLOAD_MAX_MEMORY_SIZE.
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as error:
            raise ParseError(
                _("The body is not valid JSON: %(error)s.") % {"error": error}
            ) from None
