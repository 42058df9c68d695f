"""Static files travel gzipped to a browser that accepts it, unchanged to one that does not."""

import gzip
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from viewer.web.static_files import compressible, gzip_copy

MAIN_JS = Path(settings.BASE_DIR) / "static" / "viewer" / "main.js"


@pytest.fixture
def gzip_dir(tmp_path, settings):
    settings.PACSWEB_STATIC_GZIP_DIR = tmp_path / "static-gzip"
    return settings.PACSWEB_STATIC_GZIP_DIR


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_it_sends_a_module_gzipped_to_a_browser_that_accepts_gzip(gzip_dir):
    response = Client().get("/static/viewer/main.js", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert response["Vary"] == "Accept-Encoding"
    sent = body(response)
    assert int(response["Content-Length"]) == len(sent)
    assert gzip.decompress(sent) == MAIN_JS.read_bytes()
    assert len(sent) < MAIN_JS.stat().st_size / 2
    assert response["Content-Type"].startswith("text/javascript")


def test_it_sends_the_file_as_it_is_without_accept_encoding(gzip_dir):
    response = Client().get("/static/viewer/main.js")
    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert body(response) == MAIN_JS.read_bytes()


def test_it_keeps_validators_and_cache_headers_for_the_gzipped_answer(gzip_dir):
    client = Client()
    plain = client.get("/static/viewer/main.js")
    zipped = client.get("/static/viewer/main.js", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["ETag"] == plain["ETag"]
    assert zipped["Last-Modified"] == plain["Last-Modified"]
    assert zipped["Cache-Control"] == plain["Cache-Control"]
    again = client.get(
        "/static/viewer/main.js", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=zipped["ETag"]
    )
    assert again.status_code == 304


def test_it_compresses_text_and_wasm_and_leaves_images_and_fonts_alone():
    assert compressible("viewer/main.js", "text/javascript")
    assert compressible("css/viewer.css", "text/css")
    assert compressible("viewer/icons.svg", "image/svg+xml")
    assert compressible("vendor/codecs/charlswasm_decode.wasm", "application/wasm")
    assert not compressible("logo.png", "image/png")
    assert not compressible("font.woff2", "font/woff2")


def test_it_sends_the_codec_wasm_gzipped(gzip_dir):
    response = Client().get(
        "/static/vendor/codecs/charlswasm_decode.wasm", HTTP_ACCEPT_ENCODING="gzip"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/wasm"
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(body(response))[:4] == b"\0asm"


def test_a_changed_file_gets_a_copy_of_its_new_content(tmp_path):
    source = tmp_path / "module.js"
    folder = tmp_path / "copies"
    source.write_text("export const answer = 41;\n" * 100)
    first = gzip_copy(str(source), folder)
    source.write_text("export const answer = 42;\n" * 100)
    second = gzip_copy(str(source), folder)
    assert first != second
    assert gzip.decompress(Path(second).read_bytes()) == source.read_bytes()
    assert gzip_copy(str(source), folder) == second  # made once
    assert not list(folder.glob("*.part"))


def test_a_small_or_incompressible_file_gets_no_copy(tmp_path):
    small = tmp_path / "small.js"
    small.write_text("export {};\n")
    noise = tmp_path / "noise.js"
    noise.write_bytes(os.urandom(4096))
    assert gzip_copy(str(small), tmp_path / "copies") is None
    assert gzip_copy(str(noise), tmp_path / "copies") is None


def test_a_folder_it_cannot_write_leaves_files_served_as_they_are(tmp_path, settings):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder would be")
    settings.PACSWEB_STATIC_GZIP_DIR = blocked / "static-gzip"
    response = Client().get("/static/viewer/main.js", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert body(response) == MAIN_JS.read_bytes()
