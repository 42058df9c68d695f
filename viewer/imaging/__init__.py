"""Pixel decoding and rendering; knows nothing of the database."""
