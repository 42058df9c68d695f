"""Accounts: single sign-on backends (LDAP, OpenID Connect) and their group-to-flag mapping."""
