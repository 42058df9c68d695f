"""Close the database connections that database_sync_to_async opened in its thread."""

import pytest
from asgiref.sync import sync_to_async
from django.db import connections


@pytest.fixture(autouse=True)
async def close_thread_connections():
    yield
    # Left open, they keep PostgreSQL from dropping the test database at the end.
    await sync_to_async(connections.close_all)()
