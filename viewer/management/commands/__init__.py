"""PACSweb's manage.py commands."""
