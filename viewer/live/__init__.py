"""WebSocket consumers for live study progress."""
