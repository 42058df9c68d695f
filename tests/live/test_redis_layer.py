"""REDIS_URL switches the channel layer to channels_redis, and messages cross it."""

import json
import os
import socket
import subprocess
import sys
import uuid
from urllib.parse import urlparse

import pytest
from channels.layers import channel_layers
from django.conf import settings as django_settings

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis() -> None:
    parsed = urlparse(REDIS_URL)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        message = f"Redis is not listening on {host}:{port}"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)


def layer_backend(env: dict) -> str:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.CHANNEL_LAYERS['default']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "pacsweb.settings"},
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)["BACKEND"]


def test_the_setting_follows_redis_url():
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    assert layer_backend(env) == "channels.layers.InMemoryChannelLayer"
    assert layer_backend({**env, "REDIS_URL": REDIS_URL}) == "channels_redis.core.RedisChannelLayer"


async def test_a_group_message_crosses_redis(settings):
    require_redis()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"test-{uuid.uuid4().hex}"},
        }
    }
    channel_layers.backends.clear()
    layer = channel_layers["default"]
    try:
        channel = await layer.new_channel()
        await layer.group_add("study.1.2.3", channel)
        await layer.group_send("study.1.2.3", {"type": "retrieve.progress", "message": {"n": 1}})
        assert await layer.receive(channel) == {"type": "retrieve.progress", "message": {"n": 1}}
        await layer.flush()
    finally:
        channel_layers.backends.clear()
