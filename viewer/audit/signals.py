"""Record logins, logouts, failed logins, sign-in lockouts and changes to accounts and
groups in the audit trail."""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from .actors import current_request, os_account
from .models import AuditEvent, record


@receiver(user_logged_in)
def handle_login(sender, request, user, **kwargs) -> None:
    """A successful login."""
    record(AuditEvent.LOGIN, request=request, user=user)


@receiver(user_logged_out)
def handle_logout(sender, request, user, **kwargs) -> None:
    """A logout (``user`` is None when the session had already expired)."""
    if user is not None:
        record(AuditEvent.LOGOUT, request=request, user=user)


@receiver(user_login_failed)
def handle_login_failed(sender, credentials, request=None, **kwargs) -> None:
    """A failed login; the attempted user name is kept, the password never reaches here."""
    record(
        AuditEvent.LOGIN_FAILED,
        request=request,
        username=str(credentials.get("username", "")),
        outcome=AuditEvent.FAILURE,
    )


@receiver(user_locked_out)
def handle_locked_out(sender, request, username=None, ip_address=None, **kwargs) -> None:
    """Too many wrong passwords for one user name from one address: a security alert."""
    record(
        AuditEvent.SECURITY_ALERT,
        request=request,
        username=str(username or ""),
        outcome=AuditEvent.FAILURE,
        detail="sign-in locked out after repeated wrong passwords",
    )


# User and group changes (PS3.15 Security Alert: user security attributes changed),
# from the admin or from code. Signals see every path; who acted comes from the request
# being served (set by viewer.web.middleware.audit_middleware), else the OS account.

User = get_user_model()

# The account's fields worth a row when they change; the password only as "changed".
_ACCOUNT_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "is_active",
    "is_staff",
    "is_superuser",
    "password",
)
_FLAGS = ("is_active", "is_staff", "is_superuser")
# A sign-in's own saves: its last_login, and its password hash upgraded to the current
# hasher (check_password). Neither is a change anyone made.
_SIGN_IN_SAVES = frozenset({"last_login", "password"})


def _user_changed(detail: str) -> None:
    request = current_request()
    if request is None:
        record(AuditEvent.USER_CHANGED, username=os_account(), detail=detail)
    else:
        record(AuditEvent.USER_CHANGED, request=request, detail=detail)


def _sign_in_save(update_fields) -> bool:
    return update_fields is not None and set(update_fields) <= _SIGN_IN_SAVES


def _fields(model) -> list[str]:
    names = {field.name for field in model._meta.concrete_fields}
    return [name for name in _ACCOUNT_FIELDS if name in names]


def _label(instance) -> str:
    """An account's user name, a group's name or a permission's app_label.codename."""
    if isinstance(instance, User):
        return instance.get_username()
    if isinstance(instance, Permission):
        return f"{instance.content_type.app_label}.{instance.codename}"
    return str(instance)


def _name(instance) -> str:
    """How a row names an account, a group or a permission."""
    kind = {User: "account", Group: "group", Permission: "permission"}.get(type(instance), "")
    return f"{kind} {_label(instance)}".strip()


def _account_changes(before: dict, account) -> list[str]:
    """What differs between the stored ``before`` and ``account``; never a value of the
    password."""
    changes = []
    for name, old in before.items():
        new = getattr(account, name)
        if new == old:
            continue
        if name == "password":
            changes.append("password changed")
        elif name in _FLAGS:
            changes.append(f"{name} {'on' if new else 'off'}")
        elif name == "username":
            changes.append(f"renamed from {old}")
        else:
            changes.append(f"{name} changed")
    return changes


@receiver(pre_save, sender=User)
def remember_account(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """Before an account is saved: its stored fields, for the change to be described."""
    if raw or instance.pk is None or _sign_in_save(update_fields):
        return
    instance._audit_before = sender.objects.filter(pk=instance.pk).values(*_fields(sender)).first()


@receiver(post_save, sender=User)
def handle_account_saved(
    sender, instance, created, raw=False, update_fields=None, **kwargs
) -> None:
    """An account created, or its flags, password or names changed."""
    if raw or _sign_in_save(update_fields):
        return
    before = instance.__dict__.pop("_audit_before", None)
    if created or before is None:
        flags = [name for name in _FLAGS[1:] if getattr(instance, name, False)]
        _user_changed(f"{_name(instance)} created" + (f" ({', '.join(flags)})" if flags else ""))
    elif changes := _account_changes(before, instance):
        _user_changed(f"{_name(instance)}: {', '.join(changes)}")


@receiver(post_delete, sender=User)
def handle_account_deleted(sender, instance, **kwargs) -> None:
    """An account deleted (the trail keeps its rows, naming it)."""
    _user_changed(f"{_name(instance)} deleted")


@receiver(pre_save, sender=Group)
def remember_group(sender, instance, raw=False, **kwargs) -> None:
    """Before a group is saved: its stored name, to tell a rename."""
    if not raw and instance.pk is not None:
        instance._audit_before = (
            sender.objects.filter(pk=instance.pk).values_list("name", flat=True).first()
        )


@receiver(post_save, sender=Group)
def handle_group_saved(sender, instance, created, raw=False, **kwargs) -> None:
    """A group created or renamed."""
    if raw:
        return
    before = instance.__dict__.pop("_audit_before", None)
    if created or before is None:
        _user_changed(f"{_name(instance)} created")
    elif before != instance.name:
        _user_changed(f"{_name(instance)}: renamed from {before}")


@receiver(post_delete, sender=Group)
def handle_group_deleted(sender, instance, **kwargs) -> None:
    """A group deleted."""
    _user_changed(f"{_name(instance)} deleted")


# Each membership table, with its accessor from either side (forward, reverse).
_MEMBERSHIPS = {
    User.groups.through: ("groups", "user_set"),
    User.user_permissions.through: ("user_permissions", "user_set"),
    Group.permissions.through: ("permissions", "group_set"),
}
_VERBS = {"post_add": "added", "post_remove": "removed", "pre_clear": "removed"}
_NOUNS = {User: "accounts", Group: "groups", Permission: "permissions"}


@receiver(m2m_changed)
def handle_membership_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    """Groups of an account, or permissions of an account or a group, added or removed,
    from either side (``user.groups.add(g)``, ``g.user_set.add(user)``); the admin
    saves them as such."""
    if sender not in _MEMBERSHIPS or action not in _VERBS:
        return
    if action == "pre_clear":
        # clear() names nothing: what is about to go is what is there now.
        related = getattr(instance, _MEMBERSHIPS[sender][int(bool(reverse))]).all()
    else:
        related = model.objects.filter(pk__in=pk_set or ())
    if model is Permission:
        related = related.select_related("content_type")
    names = sorted(_label(each) for each in related)
    if names:  # nothing changed when all were there already (or none was)
        noun = _NOUNS.get(model, "members")
        _user_changed(f"{_name(instance)}: {noun} {_VERBS[action]}: {', '.join(names)}")
