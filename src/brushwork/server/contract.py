"""The API's contract: what the OpenAPI schema says beyond what FastAPI reads off the route signatures,
so that the schema states exactly what the server accepts and answers (tests/e2e/test_server_fuzz.py
holds the server to it with schemathesis).

* Every number has its range (:func:`between`) and every word its choices (:func:`one_of`); the
  routes check the same ranges in code (mostly through :class:`brushwork.Settings`, whose messages
  name the setting), and tests/test_server_contract.py tries each bound against the server.
* A field that may be left out is simply not required, never ``null`` (clients would send the text
  "null"): :func:`finish_schema` drops the null branch FastAPI gives ``X | None`` parameters.
* An uploaded file is not empty (its size limit is in its description and answered with 413).
* A form takes no field it does not list (the server refuses unknown ones with 422), and says which
  of its fields go together or exclude each other, as far as JSON Schema can (:func:`form_rules`).
* Every operation lists each status it can answer: its own (:func:`answers`) and the guard's, which
  apply to every route (400 for a foreign Host, 413 for a large body, 403 for a cross-origin change,
  401 without the token); every 4xx body is :class:`ErrorBody`.
* The response that creates a job links to each operation on it (:func:`job_links`), so that
  generated clients and fuzzers can follow a job from creation to its result.

A new route declares its statuses with ``responses=answers(...)``, its numbers with ``between``,
its form's rules with ``openapi_extra=form_rules(...)``, and, when it creates jobs, links with
``job_links``; a new operation on one job adds its ``operation_id`` to :data:`JOB_OPERATIONS`.
:func:`finish_schema` does the rest for every route.
"""

from __future__ import annotations

import copy
from typing import Any

from brushwork.server.schemas import ErrorBody

FORM = "multipart/form-data"
RULES_KEY = "x-brushwork-form-rules"  # carries form_rules() from a route to finish_schema(), which removes it
BYTES_KEY = "x-brushwork-bytes"  # a file field's size limit, when not the server's --max-upload-mb
JOB_ID_PATTERN = "^[0-9a-f]{32}$"
UNSAFE_METHODS = ("post", "put", "patch", "delete")

ERROR_TEXT: dict[int, str] = {
    400: "an upload is not a usable image, clip or zip (not one, damaged, empty, over the pixel limit, a "
    "painting under 16 pixels on its short side, a mask that paints nowhere, a photo without the faces "
    "asked for, an unsafe zip member, a clip with no frames after start), the body is not valid "
    "multipart, or the Host header is not this machine's",
    401: "a token is needed and was missing or wrong",
    403: "a cross-origin browser request that would change something",
    404: "no such job (or no such path)",
    409: "not possible in the job's state or kind (e.g. its result before it is done, a video's clip "
    "from a still)",
    413: "an uploaded file, a picture, a clip (length, frame size), a batch (photos, bytes unpacked) or "
    "the whole request is larger than its limit, or an upload larger than the disk quota",
    422: "a field is missing, malformed, out of range or unknown, or fields that exclude each other "
    "were given together",
    429: "too busy: the queue is full, the disk quota is taken by unfinished jobs, or too many previews, "
    "adjustments or event streams are open",
    503: "the server lacks an optional part (the fast engine, or the video extra)",
}
# What the guard in front of every route may answer (guard.py), whatever the route.
GUARD_TEXT: dict[int, str] = {
    400: "the Host header is not this machine's (a server without a token answers only to localhost)",
    401: ERROR_TEXT[401],
    403: ERROR_TEXT[403],
    413: "the request is larger than the limit",
}

# The operations on one job, each taking its id as ``job_id``: what a new job links to.
JOB_OPERATIONS = (
    "get_job",
    "job_events",
    "job_preview",
    "job_result",
    "job_thumb",
    "job_content",
    "job_style",
    "cancel_job",
    "delete_job",
    "video_result_mp4",
    "video_result_webm",
    "video_result_mkv",
    "batch_result",
)


def between(low: float, high: float) -> dict[str, Any]:
    """A number's range, for ``json_schema_extra`` (both ends included)."""
    return {"minimum": low, "maximum": high}


def one_of(*choices: str) -> dict[str, Any]:
    """A word's choices, for ``json_schema_extra``."""
    return {"enum": list(choices)}


def answers(*statuses: int, **documented: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: its error statuses (with :data:`ERROR_TEXT`) and, by status as
    ``s200=...``, its documented successes (content, headers, links)."""
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": ERROR_TEXT[status]} for status in statuses
    }
    for key, value in documented.items():
        responses[int(key.removeprefix("s"))] = value
    return responses


def job_links(job_id: str = "$response.body#/id") -> dict[str, dict[str, Any]]:
    """OpenAPI links from a response that names a job (``job_id``: a runtime expression for its id)
    to every operation on that job."""
    return {
        name: {"operationId": name, "parameters": {"job_id": job_id}, "description": f"{name} of this job"}
        for name in JOB_OPERATIONS
    }


# Rules across a form's fields. They are written without `not` and `if`, which some generators
# (schemathesis 4.32's coverage phase among them) check with validators that cannot read files.


def exactly_one(*fields: str) -> dict[str, Any]:
    return {"oneOf": [{"required": [field]} for field in fields]}


def absent(*fields: str) -> dict[str, Any]:
    """None of ``fields`` is given."""
    return {"properties": dict.fromkeys(fields, False)}


def not_both(first: str, second: str) -> dict[str, Any]:
    return {"anyOf": [absent(first), absent(second)]}


def unless(condition: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    """``then`` holds for every form that does not meet ``condition``: "if not condition, then"."""
    return {"anyOf": [condition, then]}


def any_of(*fields: str) -> dict[str, Any]:
    """At least one of ``fields`` is given."""
    return {"anyOf": [{"required": [field]} for field in fields]}


def upload_limit(limit: int) -> dict[str, Any]:
    """For :func:`form_rules`: a file field (or list of files) whose size limit is ``limit`` bytes,
    not the server's limit for one upload."""
    return {BYTES_KEY: limit}


def at_most_together(first: str, second: str, most: int) -> dict[str, Any]:
    """The list fields ``first`` and ``second`` hold at most ``most`` items together."""
    return {
        "anyOf": [
            {"properties": {first: {"maxItems": count}, second: {"maxItems": most - count}}}
            for count in range(most + 1)
        ]
    }


def form_rules(*rules: dict[str, Any], **fields: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route whose form has rules across fields (all must hold), and the
    schema of fields that a route's annotations cannot give: ranges that depend on the server's
    configuration (annotations see only module names), and integer ranges (FastAPI writes those of
    annotations as floats, which cannot hold 2**63 - 1). Each is added to the field's schema, a
    ``description`` to the field's own."""
    return {RULES_KEY: {"rules": list(rules), "fields": fields}}


def finish_schema(schema: dict[str, Any], *, token: bool, max_upload_bytes: int) -> dict[str, Any]:
    """FastAPI's schema, made exact (see the module's docstring). ``token``: the server needs one;
    ``max_upload_bytes``: the largest file it takes."""
    schema = copy.deepcopy(schema)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for operations in schema["paths"].values():
        for method, operation in operations.items():
            extra = operation.pop(RULES_KEY, {"rules": [], "fields": {}})
            body = operation.get("requestBody", {}).get("content", {}).get(FORM)
            if body is not None:
                form = components[body["schema"]["$ref"].rsplit("/", 1)[1]]
                for name, field in form["properties"].items():
                    _absent_not_null(field)
                    limit = extra["fields"].get(name, {}).pop(BYTES_KEY, None)
                    if field.get("contentMediaType") == "application/octet-stream":  # a file
                        _file_field(field, limit or max_upload_bytes)
                    elif field.get("items", {}).get("contentMediaType") == "application/octet-stream":
                        field["items"].update(format="binary", minLength=1)  # files, each not empty
                        if limit is None:  # else the route says how its limit applies
                            each = f"(each at most {max_upload_bytes} bytes: 413 beyond)"
                            _add(field, {"description": each})
                for name, added in extra["fields"].items():
                    _add(form["properties"][name], added)
                form["additionalProperties"] = False
                if extra["rules"]:
                    form["allOf"] = extra["rules"]
            for parameter in operation.get("parameters", []):
                _absent_not_null(parameter["schema"])
                if parameter["in"] == "path" and parameter["name"] == "job_id":
                    parameter["schema"]["pattern"] = JOB_ID_PATTERN
            _guard_answers(operation, method, token)
            if token:
                operation["security"] = [{"bearer": []}]
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    if token:
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    return schema


def _absent_not_null(field: dict[str, Any]) -> None:
    """``anyOf: [X, null]`` (FastAPI's ``X | None``) → X: a field left out is absent, not null."""
    branches = field.get("anyOf")
    if branches and {"type": "null"} in branches:
        rest = [branch for branch in branches if branch != {"type": "null"}]
        del field["anyOf"]
        if len(rest) == 1:
            field.update(rest[0])
        else:
            field["anyOf"] = rest


def _file_field(field: dict[str, Any], max_upload_bytes: int) -> None:
    """Not empty; ``format: binary`` too, OpenAPI 3.0's word for a file, which tools still read. The
    size limit is said in words, not as ``maxLength``: a fuzzer that tries one byte more sends the
    whole limit (25 MB), and schemathesis 4.32 labels files it failed to lengthen as too long."""
    field.update(format="binary", minLength=1)
    _add(field, {"description": f"(at most {max_upload_bytes} bytes: 413 beyond)"})


def _add(field: dict[str, Any], added: dict[str, Any]) -> None:
    text = " ".join(part for part in (field.get("description"), added.get("description")) if part)
    field.update(added)
    if text:
        field["description"] = text


def _guard_answers(operation: dict[str, Any], method: str, token: bool) -> None:
    responses = operation["responses"]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    guard = [400, 413] + ([403] if method in UNSAFE_METHODS else []) + ([401] if token else [])
    for status in guard:
        responses.setdefault(str(status), {"description": GUARD_TEXT[status]})
    if not token:
        responses.pop("401", None)
    for status, response in responses.items():
        if status.startswith("4"):
            response["content"] = copy.deepcopy(error)
