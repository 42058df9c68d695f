"""Raw frames on the fast path (viewer/web/frame_fast_path.py) answer as Django's path
does, header by header, and are refused whenever Django's path would refuse them."""

import asyncio
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from tests.asgi import asgi_request
from viewer.archive.models import Instance
from viewer.audit.models import AuditEvent
from viewer.web import frame_fast_path

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def frame_cache(tmp_path, settings):
    settings.PACSWEB_FRAME_CACHE = tmp_path / "frame-cache"


@pytest.fixture(autouse=True)
def fresh_users(monkeypatch):
    """No session believed from an earlier test."""
    monkeypatch.setattr(frame_fast_path, "USERS", frame_fast_path.SessionUsers())


@pytest.fixture
def apps(monkeypatch):
    """(the application, Django's handler behind it, the requests that reached Django)."""
    from pacsweb import asgi

    reached = []
    original = asgi.django_handler.get_response_async

    async def noted(request):
        reached.append(request.path)
        return await original(request)

    monkeypatch.setattr(asgi.django_handler, "get_response_async", noted)
    return asgi.django_asgi_app, asgi.django_handler, reached


@pytest.fixture
def instance(small_ct) -> Instance:
    return Instance.objects.filter(series__description="Axial 1.0 mm").first()


@pytest.fixture
def cookie(alice_client) -> bytes:
    return f"sessionid={alice_client.cookies['sessionid'].value}".encode()


def url(instance: Instance, study_uid: str | None = None) -> str:
    study_uid = study_uid or instance.series.study.study_uid
    return f"/api/studies/{study_uid}/instances/{instance.sop_instance_uid}/frames/1/raw"


def get(application, path: str, query: bytes = b"", headers=()) -> tuple[int, list, bytes]:
    """One GET in process: the status, the headers as sent (in order) and the body."""
    return asyncio.run(asgi_request(application, path, query, headers))


@pytest.mark.parametrize(
    ("query", "coding"),
    [(b"", b"identity"), (b"", b"gzip"), (b"encoding=jls", b"gzip")],
    ids=["raw", "raw+gzip", "jls"],
)
def test_it_answers_a_kept_frame_as_djangos_path_does(apps, instance, cookie, query, coding):
    application, django, reached = apps
    headers = [(b"accept-encoding", coding), (b"cookie", cookie), (b"accept-language", b"en")]
    by_django = get(django, url(instance), query, headers)  # the frame is kept now
    assert reached == [url(instance)]
    fast = get(application, url(instance), query, headers)
    assert reached == [url(instance)]  # answered without Django's chain
    assert fast[0] == by_django[0] == 200
    assert fast[1] == by_django[1]  # every header, in the same order
    assert fast[2] == by_django[2]


def test_it_counts_the_read_for_the_audit_trail(apps, instance, cookie, alice):
    application, _, reached = apps
    assert get(application, url(instance), headers=[(b"cookie", cookie)])[0] == 200
    assert get(application, url(instance), headers=[(b"cookie", cookie)])[0] == 200
    assert reached == []  # both by the fast path (the first decodes and keeps the frame)
    rows = AuditEvent.objects.filter(event=AuditEvent.INSTANCES_ACCESSED, user=alice)
    assert rows.count() == 1


def test_it_leaves_a_request_without_a_session_to_django(apps, instance):
    application, _, reached = apps
    status, _, body = get(application, url(instance))
    assert status == 401
    assert reached == [url(instance)]


def test_it_refuses_an_expired_session(apps, instance, cookie):
    application, _, _ = apps
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert get(application, url(instance), headers=[(b"cookie", cookie)])[0] == 401


def test_it_refuses_frames_at_once_after_sign_out(apps, instance, cookie, alice_client):
    application, _, _ = apps
    assert get(application, url(instance), headers=[(b"cookie", cookie)])[0] == 200
    assert get(application, url(instance), headers=[(b"cookie", cookie)])[0] == 200
    alice_client.logout()
    assert get(application, url(instance), headers=[(b"cookie", cookie)])[0] == 401


def test_it_refuses_frames_at_once_to_a_deactivated_user(apps, instance, cookie, alice):
    application, _, _ = apps
    assert get(application, url(instance), headers=[(b"cookie", cookie)])[0] == 200
    assert get(application, url(instance), headers=[(b"cookie", cookie)])[0] == 200
    alice.is_active = False
    alice.save()
    assert get(application, url(instance), headers=[(b"cookie", cookie)])[0] == 401


def test_it_looks_again_once_the_check_is_due(apps, instance, cookie, alice, monkeypatch):
    # A user deactivated elsewhere (no signal here) is refused once CHECK_SECONDS pass.
    application, _, _ = apps
    now = [0.0]
    monkeypatch.setattr(frame_fast_path, "USERS", frame_fast_path.SessionUsers(lambda: now[0]))
    assert get(application, url(instance), headers=[(b"cookie", cookie)])[0] == 200
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    assert get(application, url(instance), headers=[(b"cookie", cookie)])[0] == 200  # believed
    now[0] += frame_fast_path.CHECK_SECONDS
    assert get(application, url(instance), headers=[(b"cookie", cookie)])[0] == 401


def test_it_answers_an_unknown_instance_with_djangos_404(apps, instance, cookie):
    application, django, reached = apps
    headers = [(b"cookie", cookie)]
    assert get(application, url(instance), headers=headers)[0] == 200
    other = url(instance, study_uid="1.2.3.4")
    by_django = get(django, other, headers=headers)
    fast = get(application, other, headers=headers)
    assert fast[0] == by_django[0] == 404
    assert fast[1:] == by_django[1:]


def test_it_leaves_other_queries_and_conditional_requests_to_django(apps, instance, cookie):
    application, _, reached = apps
    headers = [(b"cookie", cookie)]
    status, answer, _ = get(application, url(instance), headers=headers)
    etag = dict(answer)[b"ETag"]
    reached.clear()
    assert get(application, url(instance), b"reduce=1", headers)[0] == 200
    assert get(application, url(instance), b"encoding=png", headers)[0] == 400
    assert get(application, url(instance), headers=[*headers, (b"if-none-match", etag)])[0] == 304
    assert len(reached) == 3


def test_it_does_not_believe_a_lookup_that_a_sign_out_overtook(alice):
    # Regression (review): a session looked up in one thread while another signed out
    # was then believed for CHECK_SECONDS after the sign-out.
    users = frame_fast_path.SessionUsers()
    began = users.generation  # the lookup begins
    users.forget_session("the-key")  # sign-out, in another thread, before it ends
    users.put("the-key", alice, frame_fast_path.CHECK_SECONDS, began)
    assert users.get("the-key") is None
    users.put("the-key", alice, frame_fast_path.CHECK_SECONDS, users.generation)
    assert users.get("the-key") == alice
