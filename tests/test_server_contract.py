"""The OpenAPI schema says what the server does (src/brushwork/server/contract.py): each bound it gives
is the server's, each form rule holds, each status is documented with its body. In-process and quick;
tests/e2e/test_server_fuzz.py tries the same against a live server with schemathesis.

Bounds are tried without creating a job: the settings are checked before the upload, so a request
whose upload is not an image gets 400 when its settings pass and 422 when they do not.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from brushwork.server import ServerConfig
from brushwork.server.app import MAX_OFFSET, create_app
from brushwork.server.contract import JOB_OPERATIONS

NOT_AN_IMAGE = b"not an image"
TOKEN = "correct-horse-battery"


def make(tmp_path: Path, **config: Any) -> Iterator[TestClient]:
    app = create_app(ServerConfig(data_dir=tmp_path / "data", warm_up=False, **config))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from make(tmp_path, max_size=64, max_steps=3)


@pytest.fixture
def schema(client: TestClient) -> dict[str, Any]:
    result: dict[str, Any] = client.get("/api/openapi.json").json()
    return result


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def form(schema: dict[str, Any], path: str) -> dict[str, Any]:
    body = schema["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    result: dict[str, Any] = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    return result


def post(client: TestClient, path: str, upload: str, **fields: Any) -> tuple[int, str]:
    data = {
        name: str(value).lower() if isinstance(value, bool) else str(value) for name, value in fields.items()
    }
    if path not in ("/api/adjust", "/api/mask") and "style" not in fields:
        data.setdefault("style_id", "starry_night")
    response = client.post(path, files={upload: ("x.png", NOT_AN_IMAGE)}, data=data)
    return response.status_code, response.json()["error"]


@pytest.mark.parametrize("path", ["/api/jobs", "/api/videos", "/api/batches"])
def test_a_new_job_links_to_every_operation_on_a_job(schema: dict[str, Any], path: str) -> None:
    created = schema["paths"][path]["post"]["responses"]["201"]
    per_job = {op["operationId"] for path, _, op in operations(schema) if "{job_id}" in path}
    assert len(JOB_OPERATIONS) == 13 and set(created["links"]) == set(JOB_OPERATIONS) == per_job
    for name, link in created["links"].items():
        assert link == {"operationId": name, "parameters": {"job_id": "$response.body#/id"}} | {
            "description": link["description"]
        }
    assert created["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/JobView"}
    assert "Location" in created["headers"]


def test_left_out_is_absent_never_null_and_forms_take_only_their_fields(schema: dict[str, Any]) -> None:
    for path in ROUTES:
        body = form(schema, path)
        assert body["additionalProperties"] is False
        for name, field in body["properties"].items():
            assert "null" not in str(field), (path, name, field)
            if field.get("contentMediaType") == "application/octet-stream":
                assert field["format"] == "binary" and field["minLength"] == 1, (path, name)
            elif field["type"] == "array" and "contentMediaType" in field["items"]:
                assert field["items"]["format"] == "binary" and field["items"]["minLength"] == 1, (path, name)
                assert field["minItems"] == 1 and "bytes" in field["description"], (path, name)
            elif field["type"] in ("integer", "number"):
                assert {"minimum", "maximum"} <= set(field), (path, name, field)  # every number is bounded
    for path, _, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            assert "null" not in str(parameter), (path, parameter)
            if parameter["schema"].get("type") in ("integer", "number"):
                assert {"minimum", "maximum"} <= set(parameter["schema"]), (path, parameter)


def test_every_status_is_documented_with_one_error_body(tmp_path: Path, schema: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, method, operation in operations(schema):
        statuses = set(operation["responses"])
        assert {"400", "413"} <= statuses, (path, method)  # the guard's, on every route
        assert ("403" in statuses) == (method in ("post", "delete")), (path, method)
        assert "401" not in statuses and "security" not in operation  # no token here
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                assert response["content"] == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                }, (path, method, status)
    guarded = next(make(tmp_path / "token", token=TOKEN)).get(
        "/api/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with_token = guarded.json()
    assert with_token["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}}
    for path, method, operation in operations(with_token):
        assert "401" in operation["responses"] and operation["security"] == [{"bearer": []}], (path, method)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/api/jobs", "GET, POST"), ("/api/jobs/" + "a" * 32, "DELETE, GET"), ("/api/info", "GET")],
)
def test_a_405_names_every_method_of_the_path(client: TestClient, path: str, allowed: str) -> None:
    for method in ("OPTIONS", "PATCH", "PUT"):
        response = client.request(method, path)
        assert response.status_code == 405 and response.headers["allow"] == allowed, (method, path)
        assert "error" in response.json()


def test_the_job_list_refuses_offsets_beyond_its_bound(client: TestClient, schema: dict[str, Any]) -> None:
    offset = next(p for p in schema["paths"]["/api/jobs"]["get"]["parameters"] if p["name"] == "offset")
    assert offset["schema"]["maximum"] == MAX_OFFSET
    assert client.get("/api/jobs", params={"offset": MAX_OFFSET}).json()["jobs"] == []
    too_far = client.get("/api/jobs", params={"offset": 70747433356992451598347649603862528})
    assert too_far.status_code == 422 and "offset" in too_far.json()["error"]


ROUTES = {
    "/api/jobs": "content",
    "/api/preview": "content",
    "/api/adjust": "image",
    "/api/videos": "video",
    "/api/batches": "photos",
    "/api/mask": "content",
}
# Fields that a choice needs beside it (the video and batch forms default to the fast engine).
COMPANIONS = {"quality": {"method": "optimize"}}


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_each_bound_in_the_schema_is_the_servers(
    client: TestClient, schema: dict[str, Any], path: str
) -> None:
    upload = ROUTES[path]
    for name, field in form(schema, path)["properties"].items():
        if field.get("type") not in ("integer", "number"):
            continue
        low, high = field["minimum"], field["maximum"]
        step = 1 if field["type"] == "integer" else 1e-6
        for inside in (low, high):
            status, error = post(client, path, upload, **{name: inside})
            assert status == 400 and "not" in error, (name, inside, error)  # the settings passed
        for outside in (low - step, high + step):
            status, error = post(client, path, upload, **{name: outside})
            assert status == 422 and name.replace("_", "-") in error.replace("_", "-"), (name, outside, error)


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_each_choice_in_the_schema_is_the_servers(
    client: TestClient, schema: dict[str, Any], path: str
) -> None:
    upload = ROUTES[path]
    for name, field in form(schema, path)["properties"].items():
        for choice in field.get("enum", []):
            status, error = post(client, path, upload, **COMPANIONS.get(name, {}), **{name: choice})
            assert status == 400, (name, choice, error)
        if "enum" in field:
            for wrong in {"none", "off", "whole", "nope"} - set(field["enum"]):
                assert post(client, path, upload, **{name: wrong})[0] == 422, (name, wrong)


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_a_yes_or_no_is_true_or_false_as_the_schema_says(
    client: TestClient, schema: dict[str, Any], path: str
) -> None:
    upload = ROUTES[path]
    for name, field in form(schema, path)["properties"].items():
        if field.get("type") == "boolean":
            assert post(client, path, upload, **{name: "false"})[0] == 400, (path, name)
            for loose in ("1", "0", "on", "yes", "True"):  # pydantic alone reads these as booleans
                status, error = post(client, path, upload, **{name: loose})
                assert status == 422 and f"{name}: " in error, (path, name, loose, error)


@pytest.mark.parametrize(
    ("fields", "valid"),
    [
        ({}, True),
        ({"style": "upload"}, False),  # style and style_id
        ({"style_id": None}, False),  # neither
        ({"mask_mode": "subject", "invert_mask": True}, True),
        ({"mask_mode": "subject", "mask": "upload"}, False),
        ({"invert_mask": True}, False),  # inverting no mask
        ({"invert_mask": False}, True),
        ({"method": "fast", "quality": "normal"}, True),
        ({"method": "fast", "quality": "draft"}, False),
        ({"method": "fast", "steps": 2}, False),
        ({"method": "fast", "init": "content"}, False),
        ({"method": "optimize", "quality": "draft", "steps": 2, "init": "fast"}, True),
    ],
)
def test_the_forms_rules_are_the_servers(
    client: TestClient, schema: dict[str, Any], fields: dict[str, Any], valid: bool
) -> None:
    import jsonschema

    files = {"content": ("x.png", NOT_AN_IMAGE)}
    data = {"style_id": "starry_night"}
    for name, value in fields.items():
        if value == "upload":
            files[name] = ("x.png", NOT_AN_IMAGE)
        elif value is None:
            data.pop(name)
        else:
            data[name] = str(value).lower() if isinstance(value, bool) else str(value)
    body: dict[str, Any] = {**data, **dict.fromkeys(files, "file")}
    for key in ("steps", "invert_mask"):
        if key in body:
            body[key] = {"true": True, "false": False}.get(body[key], body[key])
            body[key] = int(body[key]) if key == "steps" else body[key]
    job_form = form(schema, "/api/jobs")
    assert jsonschema.Draft202012Validator(job_form).is_valid(body) is valid, body
    response = client.post("/api/jobs", files=files, data=data)
    assert response.status_code == (400 if valid else 422), response.text


def test_empty_or_repeated_fields_are_refused(client: TestClient) -> None:
    files = [("content", ("x.png", NOT_AN_IMAGE))]
    empty = client.post("/api/jobs", files=files, data={"style_id": "starry_night", "denoise": ""})
    assert empty.status_code == 422 and "empty form field(s) denoise" in empty.json()["error"]
    twice = client.post(
        "/api/jobs",
        files=[*files, ("style_id", (None, b"kandinsky")), ("style_id", (None, b"starry_night"))],
    )
    assert twice.status_code == 422 and "style_id given more than once" in twice.json()["error"]
    for path, upload in (("/api/videos", "video"), ("/api/batches", "photos")):
        styles = [("style_id", (None, b"kandinsky")), ("style_id", (None, b"starry_night"))]  # a list
        sent = [(upload, ("x.png", NOT_AN_IMAGE)), *styles]
        assert client.post(path, files=sent).status_code == 400, path  # the upload is not usable
        twice = client.post(path, files=[*sent, ("seed", (None, b"1")), ("seed", (None, b"2"))])
        assert twice.status_code == 422 and "seed given more than once" in twice.json()["error"], path
        empty = client.post(path, files=[*sent, ("hue", (None, b""))])
        assert empty.status_code == 422 and "empty form field(s) hue" in empty.json()["error"], path
    empty_photo = [
        ("photos", ("a.png", NOT_AN_IMAGE)),
        ("photos", ("b.png", b"")),
        ("style_id", (None, b"kandinsky")),
    ]
    refused = client.post("/api/batches", files=empty_photo)  # each file in the schema has a byte at least
    assert refused.status_code == 400 and "'b.png' is empty" in refused.json()["error"]


def test_max_steps_bounds_every_scale_of_a_job(client: TestClient) -> None:
    photo = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(photo, "PNG")
    response = client.post(
        "/api/jobs",
        files={"content": ("p.png", photo.getvalue())},
        data={"style_id": "starry_night", "quality": "high", "size": "32"},
    )
    assert response.status_code == 201, response.text
    settings = response.json()["settings"]
    assert settings["quality"] == "high" and settings["coarse_steps"] == 3 and settings["steps"] == 3


@pytest.mark.parametrize("path", ["/api/videos", "/api/batches"])
@pytest.mark.parametrize(
    ("fields", "valid"),
    [
        ([("style_id", "kandinsky")], True),
        ([("style_id", "kandinsky"), ("style_id", "the_scream"), ("style", "upload")], True),  # lists
        ([], False),  # no painting
        ([("style_id", "kandinsky")] * 5 + [("style", "upload")] * 4, False),  # nine paintings
        ([("style_id", "kandinsky"), ("quality", "draft")], False),  # quality needs the optimizer
        ([("style_id", "kandinsky"), ("quality", "draft"), ("method", "optimize")], True),
        ([("style_id", "kandinsky"), ("invert_mask", "true")], False),  # inverting the whole picture
        ([("style_id", "kandinsky"), ("invert_mask", "true"), ("mask_mode", "subject")], True),
    ],
)
def test_the_media_forms_rules_are_the_servers(
    client: TestClient, schema: dict[str, Any], path: str, fields: list[tuple[str, str]], valid: bool
) -> None:
    import jsonschema

    upload = ROUTES[path]
    files: list[tuple[str, Any]] = [(upload, ("x.png", NOT_AN_IMAGE))]
    body: dict[str, Any] = {upload: ["file"] if upload == "photos" else "file"}
    for name, value in fields:
        if value == "upload":
            files.append((name, ("x.png", NOT_AN_IMAGE)))
        else:
            files.append((name, (None, value.encode())))
        typed: Any = {"true": True}.get(value, int(value) if value.isdigit() else value)
        if name in ("style", "style_id"):
            body.setdefault(name, []).append("file" if value == "upload" else typed)
        else:
            body[name] = typed
    assert jsonschema.Draft202012Validator(form(schema, path)).is_valid(body) is valid, body
    response = client.post(path, files=files)
    assert response.status_code == (400 if valid else 422), response.text
