"""Retrieve jobs: bringing a remote study into the archive (the engine is issue 5)."""
