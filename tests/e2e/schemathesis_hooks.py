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
from schemathesis.specs.openapi.checks import _form_body_is_valid_as_sent, _get_openapi_schema
from schemathesis.transport.serialization import Binary

FORM = "multipart/form-data"


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Whether to keep ``failure``."""
    if case.media_type != FORM or not isinstance(case.body, dict):
        return True
    generated = case.body
    case.body = {name: _as_text(value) for name, value in generated.items()}
    try:
        if isinstance(failure, AcceptedNegativeData):
            return not _form_body_is_valid_as_sent(response, case, FORM)
        if isinstance(failure, RejectedPositiveData):
            return _valid(case)
        return True
    finally:
        case.body = generated


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
    return value.data.decode("latin-1") if isinstance(value, Binary) else value
