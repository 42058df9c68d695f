"""One verifying TLS context for our HTTP clients: the CA bundle is loaded once, not per client."""

import functools
import ssl

import certifi


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The default verifying context with certifi's CA bundle (as httpx would build it)."""
    return ssl.create_default_context(cafile=certifi.where())
