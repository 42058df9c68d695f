"""PACSweb project: settings, ASGI application, URL and WebSocket routing."""
