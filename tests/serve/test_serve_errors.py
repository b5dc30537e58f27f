"""Every error a client can cause, through the API: its status and stable code, never a 500."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image
from serve_images import noise_png, png_bytes

from dermkit.serve.config import ServeConfig

ANALYZE = "/api/v1/analyze"


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def post_image(client, data: bytes, name: str = "x.png", **fields):
    return client.post(ANALYZE, files={"image": (name, data, "image/png")}, data=fields)


def error_of(response) -> tuple[int, str]:
    body = response.json()
    assert set(body["error"]) >= {"status", "code", "message"} and body["error"]["message"]
    assert body["error"]["status"] == response.status_code
    return response.status_code, body["error"]["code"]


@pytest.mark.parametrize(
    ("name", "data", "fields", "expected"),
    [
        ("not an image", b"GIF? no: plain text", {}, (400, "not_an_image")),
        ("truncated", png_bytes(np.full((64, 64, 3), 99, np.uint8))[:-40], {}, (400, "truncated_image")),
        ("truncated jpeg", jpeg_bytes()[: len(jpeg_bytes()) // 2], {}, (400, "truncated_image")),
        ("zero bytes", b"", {}, (400, "empty_file")),
        ("1x1", png_bytes(np.zeros((1, 1, 3), np.uint8)), {}, (400, "image_too_small")),
        ("age abc", png_bytes(np.zeros((64, 64, 3), np.uint8)), {"age": "abc"}, (400, "invalid_age")),
        ("age 200", png_bytes(np.zeros((64, 64, 3), np.uint8)), {"age": "200"}, (400, "invalid_age")),
        ("sex typo", png_bytes(np.zeros((64, 64, 3), np.uint8)), {"sex": "femal"}, (400, "invalid_sex")),
        ("unknown site", png_bytes(np.zeros((64, 64, 3), np.uint8)), {"site": "moon"}, (400, "invalid_site")),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bad_images_and_metadata_are_400s(make_client, name, data, fields, expected):
    assert error_of(post_image(make_client(), data, **fields)) == expected


def test_metadata_errors_suggest_the_known_value(make_client):
    message = post_image(make_client(), b"x", sex="femal").json()["error"]["message"]
    assert "did you mean 'female'" in message


def test_request_over_the_limit_is_413_declared_or_streamed(make_client):
    client = make_client(max_request_bytes=20_000)
    big = noise_png(100, 100)  # ~30 kB
    assert error_of(post_image(client, big)) == (413, "request_too_large")

    def chunks():  # no Content-Length: the limit counts the bytes that arrive
        yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\n\r\n'
        for _ in range(10):
            yield b"\0" * 4096

    streamed = client.post(ANALYZE, content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert error_of(streamed) == (413, "request_too_large")
    assert post_image(client, png_bytes(np.full((64, 64, 3), 90, np.uint8))).status_code == 200


def test_image_over_the_pixel_limit_is_413(make_client):
    client = make_client(max_pixels=4000)
    assert error_of(post_image(client, png_bytes(np.zeros((64, 64, 3), np.uint8)))) == (413, "too_many_pixels")
    assert post_image(client, png_bytes(np.full((60, 60, 3), 90, np.uint8))).status_code == 200


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"image": "x"}},
        {"content": b"raw bytes", "headers": {"Content-Type": "image/png"}},
        {"data": {"age": "50"}},  # url-encoded form
        {"content": b""},  # no content type at all
    ],
    ids=["json", "raw image", "urlencoded", "none"],
)
def test_anything_but_a_multipart_form_is_415(make_client, kwargs):
    assert error_of(make_client().post(ANALYZE, **kwargs)) == (415, "unsupported_media_type")


def test_a_form_without_the_image_file_is_422(make_client):
    client = make_client()
    only_age = client.post(ANALYZE, files={"age": (None, "50")})
    assert error_of(only_age) == (422, "missing_field")
    image_as_text = client.post(ANALYZE, files={"image": (None, "not a file")})
    assert error_of(image_as_text) == (422, "missing_field")
    other_name = client.post(ANALYZE, files={"picture": ("x.png", b"...", "image/png")})
    assert error_of(other_name) == (422, "missing_field")
    bad_query = client.post(ANALYZE + "?images=maybe", files={"image": ("x.png", b"...", "image/png")})
    assert error_of(bad_query) == (422, "invalid_request")


def test_a_token_guards_the_api_but_not_the_probes_or_the_page(make_client):
    token = "s3cret-token-0123456789"
    client = make_client(token=token)
    assert error_of(client.get("/api/v1/model")) == (401, "unauthorized")
    wrong = client.get("/api/v1/model", headers={"Authorization": "Bearer s3cret-token-0123456788"})
    assert error_of(wrong) == (401, "unauthorized") and wrong.headers["www-authenticate"] == "Bearer"
    assert error_of(client.get("/api/v1/model", headers={"Authorization": token})) == (401, "unauthorized")
    assert error_of(post_image(client, b"x")) == (401, "unauthorized")  # before the upload is even read
    assert client.get("/api/v1/model", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/v1/reports/anything").status_code == 401
    assert client.get("/healthz").status_code == 200 and client.get("/").status_code == 200


def test_the_token_is_compared_in_constant_time(monkeypatch):
    import hmac

    from dermkit.serve import security
    from dermkit.serve.errors import ApiError

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(security.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    security.check_bearer("Bearer right-token-0123456789", "right-token-0123456789")
    with pytest.raises(ApiError):
        security.check_bearer("Bearer wrong", "right-token-0123456789")
    assert calls == [(b"right-token-0123456789", b"right-token-0123456789"), (b"wrong", b"right-token-0123456789")]


def test_a_full_queue_is_429_and_frees_up_again(make_client, blocking):
    client = make_client(blocking, workers=1, queue_size=1)
    image = png_bytes(np.full((64, 64, 3), 90, np.uint8))
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(post_image(client, image))) for _ in range(2)]
    for thread in threads:
        thread.start()
    assert blocking.started.acquire(timeout=30)  # one running ...
    pool = client.app.state.pool
    for _ in range(300):  # ... and one waiting
        if pool.admitted == 2:
            break
        threading.Event().wait(0.05)
    assert pool.admitted == 2
    refused = post_image(client, image)
    assert error_of(refused) == (429, "queue_full") and refused.headers["retry-after"] == "2"
    blocking.release()
    for thread in threads:
        thread.join(timeout=60)
    assert [a.status_code for a in answers] == [200, 200]
    assert pool.admitted == 0 and post_image(client, image).status_code == 200


class FailingAnalyzer:
    def __init__(self, inner) -> None:
        self.models = inner.models

    def analyze(self, *args, **kwargs):
        raise RuntimeError("a bug deep in the pipeline")


def test_a_bug_is_a_500_whose_id_is_in_the_log(make_client, analyzer, caplog):
    client = make_client(FailingAnalyzer(analyzer))
    with caplog.at_level("ERROR", logger="dermkit.serve"):
        response = post_image(client, png_bytes(np.full((64, 64, 3), 90, np.uint8)))
    assert error_of(response) == (500, "internal_error")
    error_id = response.json()["error"]["error_id"]
    assert error_id in response.json()["error"]["message"] and "deep in the pipeline" not in response.text
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None and "deep in the pipeline" in str(logged[0].exc_info[1])
    assert response.headers["x-content-type-options"] == "nosniff"


HOSTILE = [
    ("random bytes", {"files": {"image": ("x.jpg", bytes(range(256)) * 40, "image/jpeg")}}),
    ("png header only", {"files": {"image": ("x.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 30, "image/png")}}),
    ("tiff bomb header", {"files": {"image": ("x.tif", b"II*\x00\x08\x00\x00\x00" + b"\xff" * 64, "image/tiff")}}),
    ("svg", {"files": {"image": ("x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")}}),
    ("bad boundary", {"content": b"--zz\r\ngarbage", "headers": {"Content-Type": "multipart/form-data; boundary=b"}}),
    ("no boundary", {"content": b"x", "headers": {"Content-Type": "multipart/form-data"}}),
    ("huge age", {"files": {"image": ("x.png", b"x", "image/png"), "age": (None, "9" * 5000)}}),
    ("nan age", {"files": {"image": ("x.png", b"x", "image/png"), "age": (None, "nan")}}),
    ("non-utf8 site", {"files": {"image": ("x.png", b"x", "image/png"), "site": (None, b"\xff\xfe\xfa")}}),
    ("hostile name", {"files": {"image": ("../../etc/<script>.png", b"x", "image/png")}}),
    ("many parts", {"files": [(f"f{i}", (None, "v")) for i in range(40)]}),
    ("bad content length", {"content": b"abc", "headers": {"Content-Length": "-1", "Content-Type": "text/plain"}}),
]


@pytest.mark.parametrize("kwargs", [k for _, k in HOSTILE], ids=[n for n, _ in HOSTILE])
def test_hostile_input_is_never_a_500(make_client, kwargs):
    response = make_client().post(ANALYZE, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    error_of(response)


def test_unsafe_settings_are_refused():
    from dermkit.errors import ConfigError

    with pytest.raises(ConfigError, match="--token-file"):
        ServeConfig(host="0.0.0.0")
    with pytest.raises(ConfigError, match="at least 16"):
        ServeConfig(token="short")
    with pytest.raises(ConfigError, match="--workers"):
        ServeConfig(workers=0)
    ServeConfig(host="0.0.0.0", token="a-long-enough-token-123")
    ServeConfig(host="::1")
    ServeConfig(host="localhost")


@pytest.mark.parametrize(
    ("host", "loopback"), [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True),
                           ("localhost", True), ("0.0.0.0", False), ("192.168.1.4", False), ("example.org", False)]
)  # fmt: skip
def test_loopback_hosts(host, loopback):
    from dermkit.serve import is_loopback

    assert is_loopback(host) is loopback


def test_token_files_must_be_private_and_not_empty(tmp_path):
    from dermkit.errors import ConfigError
    from dermkit.serve import read_token_file

    path = tmp_path / "token"
    path.write_text("  a-long-enough-token-123 \nignored\n")
    path.chmod(0o600)
    assert read_token_file(path) == "a-long-enough-token-123"
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_token_file(path)
    path.write_text("\n")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="empty"):
        read_token_file(path)
    with pytest.raises(ConfigError, match="cannot read"):
        read_token_file(tmp_path / "missing")


def test_read_image_bytes_decodes_as_read_image_does(lesion_image, tmp_path):
    from dermkit.imageio import ImageError, read_image, read_image_bytes

    assert np.array_equal(read_image_bytes(lesion_image.read_bytes()), read_image(lesion_image))
    rotated = tmp_path / "rotated.jpg"  # EXIF orientation 6: stored sideways, read upright
    exif = Image.Exif()
    exif[274] = 6
    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(rotated, exif=exif)
    assert read_image_bytes(rotated.read_bytes()).shape == read_image(rotated).shape == (40, 20, 3)
    with pytest.raises(ImageError, match="upload: .*0 bytes") as empty:
        read_image_bytes(b"")
    assert empty.value.kind == "empty_file"
    with pytest.raises(ImageError) as large:
        read_image_bytes(lesion_image.read_bytes(), "x", limit=64 * 64 - 1)
    assert large.value.kind == "too_large" and "x: " in str(large.value)
