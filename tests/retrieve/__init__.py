"""Tests of retrieve jobs."""
