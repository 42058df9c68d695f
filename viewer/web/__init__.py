"""Page views and JSON API; thin, domain logic lives elsewhere."""
