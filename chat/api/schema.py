"""The OpenAPI schema's account of refusals and of what requests may hold.

drf-spectacular documents what the views declare: their successes. What every
operation can also answer (chat.api.errors gives each refusal its `{detail, code?}`
body) follows from what the operation has, so it is added here, once, by
postprocessing hooks (settings: SPECTACULAR_SETTINGS). Views declare only the
refusals of their own. DRF's text fields are described as DRF validates them.
"""

import copy

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

# DRF refuses U+0000 in any text field, and the API in any address or query
# (chatsite.nul_bytes). Not blank: where a field may be, drf-spectacular documents
# "" as an alternative of its own, which this must not match too (`oneOf`).
NO_NUL_PATTERN = r"^[^\x00]+$"
# DRF trims a text field before checking that it is not blank.
NOT_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"

ERROR_SCHEMA = {
    "type": "object",
    "description": "Why the request was refused.",
    "properties": {
        "detail": {"type": "string", "description": "for people, translated"},
        "code": {
            "type": "string",
            "description": "for programs, when a chat rule refused it "
            "(`room_not_found`, `not_member`, `body_empty`, ...; docs/protocol.md)",
        },
    },
    "required": ["detail"],
}
INVALID_REQUEST_SCHEMA = {
    "type": "object",
    "description": "`{detail, code?}`, or DRF's field errors: "
    "`{field: [message, ...]}` (`non_field_errors` for the whole body).",
    "properties": ERROR_SCHEMA["properties"],
    "additionalProperties": True,
}


def _error_content(schema: str = "Error") -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _answer(description: str, schema: str = "Error", headers=None) -> dict:
    answer = {"description": description, "content": _error_content(schema)}
    if headers:
        answer["headers"] = headers
    return answer


EVERY_OPERATION = {
    "400": _answer(
        "Invalid: a bad query parameter or body, or U+0000 anywhere in the address, "
        "query or headers.",
        "InvalidRequest",
    ),
    "401": _answer(
        "No valid credentials (an unknown or revoked token).",
        headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    "403": _answer(
        "Not allowed: the chat rules refuse it (`code`), or a session call that "
        "changes state lacks its CSRF token."
    ),
    "429": _answer(
        "Throttled, or over the send rate (`rate_limited`).",
        headers={
            "Retry-After": {
                "schema": {"type": "integer"},
                "description": "seconds to wait",
            }
        },
    ),
}
WITH_PATH_PARAMETERS = {
    "404": _answer("Nothing there, or nothing the caller may see."),
}
WITH_BODY = {
    "413": _answer("The body or file is too large (`too_large`)."),
    "415": _answer(
        "The body's Content-Type is not accepted, or the file's kind is not "
        "(`unsupported_type`)."
    ),
}
# The bodies the API documents (docs/protocol.md: JSON; the upload is multipart).
DOCUMENTED_BODY_TYPES = ("application/json", "multipart/form-data")


def document_error_answers(result, generator, request, public):
    """Postprocessing hook: each operation lists the refusals it can give, with the
    error body; a refusal a view declared without a body gets the error body."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["InvalidRequest"] = INVALID_REQUEST_SCHEMA
    for operations in result["paths"].values():
        for operation in operations.values():
            answers = dict(EVERY_OPERATION)
            parameters = operation.get("parameters", [])
            if any(parameter["in"] == "path" for parameter in parameters):
                answers.update(WITH_PATH_PARAMETERS)
            body = operation.get("requestBody")
            if body:
                answers.update(WITH_BODY)
                body["content"] = _documented_body_types(body["content"])
            responses = operation["responses"]
            for status, answer in responses.items():
                if status.startswith("4") and "content" not in answer:
                    answer["content"] = _error_content()
            for status, answer in answers.items():
                # A copy each: a later change to one answer changes no other.
                responses.setdefault(status, copy.deepcopy(answer))
    return result


def _documented_body_types(content: dict) -> dict:
    """JSON where a view takes JSON: DRF's form parsers still read form bodies, but
    the contract's bodies are JSON (files multipart), and those are documented."""
    documented = {
        media: schema
        for media, schema in content.items()
        if media in DOCUMENTED_BODY_TYPES
    }
    if "application/json" in documented:
        return {"application/json": documented["application/json"]}
    return documented or content


def describe_path_parameters(result, generator, request, public):
    """Postprocessing hook: path parameters as the routes match them and the views
    read them. An `<int:>` converter matches digits only; `<str:>` any text but a
    slash; a slug is a room's and an emoji one emoji (chat.api.serializers)."""
    from chat.api.serializers import EMOJI_SCHEMA, LARGEST_INTEGER, ROOM_SLUG_SCHEMA

    by_name = {"slug": ROOM_SLUG_SCHEMA, "emoji": EMOJI_SCHEMA}
    for operations in result["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "path":
                    continue
                schema = parameter["schema"]
                if schema.get("type") == "integer":
                    schema.update(minimum=0, maximum=LARGEST_INTEGER)
                elif parameter["name"] in by_name:
                    schema.update(by_name[parameter["name"]])
                else:
                    schema.update(pattern=r"^[^/\x00]+$")
    return result


class CharFieldDescription(OpenApiSerializerFieldExtension):
    """A request's text field as DRF validates it: its regular expression if it has
    one (a slug); else no U+0000, and when it may not be blank, some character
    besides white space (DRF trims it first)."""

    target_class = "rest_framework.fields.CharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(
            self.target, direction, bypass_extensions=True
        )
        if direction != "request":
            return schema
        if "pattern" not in schema:
            schema["pattern"] = _field_pattern(self.target)
        return schema


def _field_pattern(field) -> str:
    for validator in field.validators:
        regex = getattr(validator, "regex", None)
        if regex is not None and not getattr(validator, "inverse_match", False):
            # Python's end of text; JSON Schema (and schemathesis) spell it `$`.
            return regex.pattern.replace(r"\Z", "$")
    if field.trim_whitespace and not field.allow_blank:
        return NOT_BLANK_PATTERN
    return NO_NUL_PATTERN
