"""The PACSweb Django app: one sub-package per concern (see DESIGN.md)."""
