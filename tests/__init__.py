"""PACSweb test suite."""
