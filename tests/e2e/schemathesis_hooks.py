"""A schemathesis hook (schemathesis.toml's ``hooks``) for two limitations of schemathesis 4.32.5, both
about forms with files. It drops a failure only where the form the server received contradicts the
label schemathesis gave it; every other failure stays.

* "Invalid data accepted": before it fails a request, schemathesis asks whether the form as sent is
  valid after all (a mutation may not reach the wire: an empty list sends no field, as an absent one
  does; or it may break one branch of an ``anyOf`` whose other branch still holds). That look
  validates with jsonschema_rs, which cannot read a file value (schemathesis's ``Binary``, a str
  subclass whose text is empty), so it never clears a form with a file. The hook takes the same look
  with each file's bytes as text, and drops the failure when that form is valid.
* "Valid data rejected": in its stateful phase schemathesis sometimes adds a bundled style's id as
  ``style_id`` to a form that already has an uploaded ``style``, which the schema's ``oneOf`` forbids,
  and still calls the form valid. The hook validates the form as generated (with the files as text)
  and drops the failure when the schema itself refuses that form: the server's 422 was right.

It calls schemathesis's own helpers (private ones), so it is tied to the version pinned in
pyproject.toml; tests/e2e/test_server_fuzz.py fails if they move.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.core.jsonschema import make_validator
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import (
    _form_body_is_valid_as_sent,
    _form_text_readings,
    _get_openapi_schema,
    _has_errors_at,
    _sent_form_fields,
)
from schemathesis.transport.serialization import Binary

FORM = "multipart/form-data"


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Whether to keep ``failure``."""
    if case.media_type != FORM or not isinstance(case.body, dict):
        return True
    generated = case.body
    # an empty list sends no field, as an absent one does (schemathesis's own look keeps it)
    case.body = {name: _as_text(value) for name, value in generated.items() if value != []}
    try:
        if isinstance(failure, AcceptedNegativeData):
            return not (_form_body_is_valid_as_sent(response, case, FORM) or _lists_as_sent(response, case))
        if isinstance(failure, RejectedPositiveData):
            return _valid(case)
        return True
    finally:
        case.body = generated


def _lists_as_sent(response: Any, case: Any) -> bool:
    """schemathesis's look at the form as sent, for forms with list fields (several files or ids in
    one field): it reads a repeated field as one of its values, this reads a list field's parts as
    its items. False where that cannot be told."""
    try:
        fields = _sent_form_fields(response, FORM)
        schema = case.operation.get_body_for_media_type(FORM).optimized_schema
        lists = {name for name, field in schema.get("properties", {}).items() if field.get("type") == "array"}
        if fields is None or not lists & set(fields):
            return False
        validator = make_validator(schema, _get_openapi_schema(case).adapter.jsonschema_validator_cls)
        # as schemathesis: a field not found on the wire keeps its generated value (multipart may
        # escape its name), but an empty list sends nothing
        sent: dict[str, Any] = {
            name: value for name, value in case.body.items() if name not in fields and value not in ([], {})
        }
        for name, texts in fields.items():
            if name in lists:
                generated = case.body.get(name)
                sent[name] = generated if None in texts else list(texts)  # files keep their generated text
            elif None in texts:
                if name in case.body:
                    sent[name] = case.body[name]
            else:
                readings = [reading for text in texts for reading in _form_text_readings(text)]
                sent[name] = next(
                    (r for r in readings if not _has_errors_at(validator, {**sent, name: r}, name)),
                    readings[0],
                )
        return bool(validator.is_valid(sent))
    except Exception:
        return False


def _valid(case: Any) -> bool:
    """Whether the form (files as text) meets its schema; True where that cannot be told."""
    body = case.operation.get_body_for_media_type(FORM)
    try:
        validator_class = _get_openapi_schema(case).adapter.jsonschema_validator_cls
        validator = make_validator(body.optimized_schema, validator_class)
        return bool(validator.is_valid(case.body))
    except Exception:
        return True


def _as_text(value: Any) -> Any:
    if isinstance(value, list):  # several files in one field
        return [_as_text(item) for item in value]
    return value.data.decode("latin-1") if isinstance(value, Binary) else value
