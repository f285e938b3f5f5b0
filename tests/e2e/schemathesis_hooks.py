"""A schemathesis hook (schemathesis.toml's ``hooks``) for one limitation of schemathesis 4.32.5.

Its check "invalid data accepted" asks, before it fails a request, whether the form as sent is valid
after all: a mutation may not reach the wire (an empty list sends no field, as an absent one does),
or may break one branch of an ``anyOf`` whose other branch still holds. That second look validates
the fields with jsonschema_rs, which cannot read a file value (schemathesis's ``Binary``, a str
subclass whose text is empty), so it never clears a form with a file in it. This hook takes the same
look with each file's bytes as text, and drops the failure only when the form the server received is
valid. Every other failure, and this one for a form that really is invalid, stays.

It calls schemathesis's own second look (a private function), so it is tied to the version pinned in
pyproject.toml; tests/e2e/test_server_fuzz.py fails if that function moves.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.specs.openapi.checks import _form_body_is_valid_as_sent
from schemathesis.transport.serialization import Binary

FORM = "multipart/form-data"


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Whether to keep ``failure``."""
    if not isinstance(failure, AcceptedNegativeData) or case.media_type != FORM:
        return True
    if not isinstance(case.body, dict):
        return True
    generated = case.body
    case.body = {name: _as_text(value) for name, value in generated.items()}
    try:
        valid_as_sent = _form_body_is_valid_as_sent(response, case, FORM)
    finally:
        case.body = generated
    return not valid_as_sent


def _as_text(value: Any) -> Any:
    return value.data.decode("latin-1") if isinstance(value, Binary) else value
