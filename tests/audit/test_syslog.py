"""Audit messages over syslog: RFC 5424 framing, and delivery to a real rsyslogd."""

import datetime as dt
import io
import ipaddress
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.base import free_port, require_peer, stop_process, wait_listening
from viewer.audit import export_signals
from viewer.audit.models import AuditEvent
from viewer.audit.syslog import (
    BOM,
    Collector,
    SyslogSender,
    octet_counted,
    parse_collector,
    rfc5424_message,
)

WHEN = dt.datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=dt.UTC)
XML = '<AuditMessage><P ParticipantObjectID="张三-001"/></AuditMessage>'.encode()


def _framed(failure: bool = False) -> bytes:
    return rfc5424_message(XML, failure=failure, timestamp=WHEN, hostname="ward", procid=42)


def test_it_sends_success_as_authpriv_notice_and_failure_as_warning():
    assert _framed().startswith(b"<85>1 ")
    assert _framed(failure=True).startswith(b"<84>1 ")


def test_it_writes_the_rfc5424_header_fields_in_order():
    header, _, body = _framed().partition(BOM)
    assert header.split(b" ") == [
        b"<85>1",
        b"2025-03-04T05:06:07.123456Z",
        b"ward",
        b"pacsweb",
        b"42",
        b"IHE+RFC-3881",
        b"-",
        b"",
    ]
    assert body == XML


def test_the_octet_count_is_the_byte_length_of_a_message_with_chinese_text():
    message = _framed()
    count, _, rest = octet_counted(message).partition(b" ")
    assert int(count) == len(rest) == len(message)
    assert len(message) > len(message.decode("utf-8"))  # the count is bytes, not characters


def test_it_keeps_spaces_out_of_header_fields():
    message = rfc5424_message(XML, failure=False, timestamp=WHEN, hostname="a b", procid="")
    assert message.split(b" ")[2:5] == [b"ab", b"pacsweb", b"-"]


@pytest.mark.parametrize(
    ("url", "collector"),
    [
        ("udp://audit.example:514", Collector("udp", "audit.example", 514)),
        ("tcp://10.0.0.5", Collector("tcp", "10.0.0.5", 601)),
        ("tls://arr.example", Collector("tls", "arr.example", 6514)),
    ],
)
def test_it_reads_the_collector_url(url, collector):
    assert parse_collector(url) == collector


def test_it_refuses_a_collector_url_it_cannot_use():
    with pytest.raises(ValueError):
        parse_collector("http://audit.example")


def test_a_dead_collector_never_blocks_and_drops_are_counted_in_a_warning(caplog):
    sender = SyslogSender(Collector("tcp", "127.0.0.1", free_port()), queue_size=2, timeout=1)
    started = time.monotonic()
    accepted = [sender.send(_framed()) for _ in range(10)]
    assert time.monotonic() - started < 1  # ten sends, none waiting for the collector
    sender.close(timeout=0.5)
    assert accepted.count(False) >= 7
    warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert warnings and all("张三" not in message for message in warnings)
    assert sum(int(message.split()[0]) for message in warnings) == 10


# -- a real collector: rsyslogd --------------------------------------------------------


def _certificates(folder: Path) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1, made for this test."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    def key():
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def name(common_name: str):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    now = dt.datetime.now(dt.UTC)
    ca_key, server_key = key(), key()
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("PACSweb test CA"))
        .issuer_name(name("PACSweb test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "key.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return paths


class Rsyslog:
    """A real rsyslogd on 127.0.0.1 listening for one transport, writing what it gets."""

    def __init__(self, folder: Path, transport: str) -> None:
        self.folder, self.transport, self.port = folder, transport, free_port()
        self.audit_log, self.probe_log = folder / "audit.log", folder / "probe.log"
        self.certificates = _certificates(folder) if transport == "tls" else {}

    @property
    def url(self) -> str:
        return f"{self.transport}://127.0.0.1:{self.port}"

    def config(self) -> str:
        tls = self.certificates
        lines = [
            f'global(workDirectory="{self.folder}" maxMessageSize="64k"'
            + (
                f' defaultNetstreamDriverCAFile="{tls["ca"]}"'
                f' defaultNetstreamDriverCertFile="{tls["cert"]}"'
                f' defaultNetstreamDriverKeyFile="{tls["key"]}"'
                if tls
                else ""
            )
            + ")",
        ]
        if self.transport == "udp":
            lines += [
                'module(load="imudp")',
                f'input(type="imudp" address="127.0.0.1" port="{self.port}")',
            ]
        elif self.transport == "tcp":
            lines += [
                'module(load="imtcp")',
                f'input(type="imtcp" address="127.0.0.1" port="{self.port}")',
            ]
        else:
            lines += [
                'module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1"'
                ' streamDriver.authMode="anon")',
                f'input(type="imtcp" address="127.0.0.1" port="{self.port}")',
            ]
        lines += [
            'template(name="audit" type="string" string="%pri% %app-name% %msgid% %msg%\\n")',
            f'if $app-name == "pacsweb" then {{ action(type="omfile" file="{self.audit_log}"'
            ' template="audit") stop }',
            f'if $app-name == "probe" then {{ action(type="omfile" file="{self.probe_log}")'
            " stop }",
        ]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        conf = self.folder / "rsyslog.conf"
        conf.write_text(self.config())
        self.process = subprocess.Popen(
            [
                require_peer("rsyslogd"),
                "-n",
                "-f",
                str(conf),
                "-i",
                str(self.folder / "rsyslogd.pid"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if self.transport == "udp":
            self._wait_for_udp()
        else:
            wait_listening(self.port, self.process)

    def _wait_for_udp(self) -> None:
        # UDP has no handshake: probe until rsyslogd writes one of the probes down.
        deadline = time.monotonic() + 15
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            while time.monotonic() < deadline and self.process.poll() is None:
                sock.sendto(b"<13>1 - - probe - - - ready", ("127.0.0.1", self.port))
                if self.probe_log.exists() and self.probe_log.stat().st_size:
                    return
                time.sleep(0.1)
        pytest.fail(f"rsyslogd did not take UDP on {self.port}: {self._errors()}")

    def _errors(self) -> str:
        if self.process.poll() is None:
            return "still running"
        return self.process.stderr.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        stop_process(self.process)

    def lines(self, count: int = 1, seconds: float = 20) -> list[str]:
        """The first ``count`` audit lines rsyslogd wrote, waiting for them."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.audit_log.exists():
                lines = self.audit_log.read_text(encoding="utf-8").splitlines()
                if len(lines) >= count:
                    return lines
            time.sleep(0.1)
        pytest.fail(f"rsyslogd wrote no audit message in {seconds} s: {self._errors()}")


@pytest.fixture
def close_senders():
    """Senders made from the settings during a test are stopped after it."""
    yield
    export_signals.close_senders()


@pytest.fixture
def rsyslog(request, tmp_path, close_senders):
    require_peer("rsyslogd")
    collector = Rsyslog(tmp_path, request.param)
    collector.start()
    yield collector
    collector.stop()


def _use(settings, collector: Rsyslog) -> None:
    settings.PACSWEB_AUDIT_SYSLOG = collector.url
    settings.PACSWEB_AUDIT_SYSLOG_CA = str(collector.certificates.get("ca", ""))


def _audit_message(line: str) -> tuple[str, ET.Element]:
    """rsyslogd's "PRI APP-NAME MSGID MSG" line: the head, and the parsed audit message."""
    head, _, xml = line.partition("<?xml")
    return head.replace("\ufeff", "").strip(), ET.fromstring(("<?xml" + xml).encode("utf-8"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rsyslog", ["udp", "tcp", "tls"], indirect=True)
def test_a_login_reaches_the_audit_repository_as_a_dicom_audit_message(
    client, alice, settings, rsyslog
):
    _use(settings, rsyslog)
    response = client.post(
        "/login/", {"username": "alice", "password": "alice-secret-pw"}, REMOTE_ADDR="10.0.0.7"
    )
    assert response.status_code == 302
    head, message = _audit_message(rsyslog.lines()[0])
    assert head == "85 pacsweb IHE+RFC-3881"
    assert message.find("EventIdentification/EventID").get("csd-code") == "110114"
    assert message.find("EventIdentification/EventTypeCode").get("csd-code") == "110122"
    person = message.find("ActiveParticipant")
    assert (person.get("UserID"), person.get("NetworkAccessPointID")) == ("alice", "10.0.0.7")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rsyslog", ["tcp"], indirect=True)
def test_a_chinese_patient_id_arrives_whole(settings, rsyslog):
    _use(settings, rsyslog)
    AuditEvent.objects.create(
        event=AuditEvent.STUDY_OPENED, username="alice", study_uid="1.2.3", patient_id="张三-001"
    )
    _, message = _audit_message(rsyslog.lines()[0])
    ids = [o.get("ParticipantObjectID") for o in message.iter("ParticipantObjectIdentification")]
    assert ids == ["1.2.3", "张三-001"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rsyslog", ["tls"], indirect=True)
def test_it_refuses_a_collector_whose_certificate_it_cannot_verify(
    client, alice, settings, rsyslog, caplog
):
    settings.PACSWEB_AUDIT_SYSLOG = rsyslog.url  # the system's CAs do not know the test CA
    client.post("/login/", {"username": "alice", "password": "alice-secret-pw"})
    sender = export_signals.configured_sender()
    deadline = time.monotonic() + 15
    while not sender.failures and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sender.failures and sender.sent == 0
    assert not rsyslog.audit_log.exists()


@pytest.mark.django_db(transaction=True)
def test_a_dead_collector_loses_no_row_and_the_sign_in_still_works(
    client, alice, settings, caplog, close_senders
):
    settings.PACSWEB_AUDIT_SYSLOG = f"tcp://127.0.0.1:{free_port()}"
    response = client.post("/login/", {"username": "alice", "password": "alice-secret-pw"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(event=AuditEvent.LOGIN, username="alice").exists()
    sender = export_signals.configured_sender()

    def said_unreachable() -> bool:
        return any("unreachable" in record.getMessage() for record in caplog.records)

    # Waits for the warning itself: the sender counts the failure just before it logs
    # it, so waiting on the count alone raced the log line (seen in CI).
    deadline = time.monotonic() + 15
    while not said_unreachable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sender.failures
    assert said_unreachable()


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_when_export_is_off(client, alice, settings, close_senders):
    settings.PACSWEB_AUDIT_SYSLOG = ""
    client.post("/login/", {"username": "alice", "password": "alice-secret-pw"})
    assert export_signals.configured_sender() is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rsyslog", ["tcp"], indirect=True)
def test_export_audit_back_fills_a_time_range_to_syslog(settings, rsyslog):
    settings.PACSWEB_AUDIT_SYSLOG = ""  # rows made before export was switched on
    for number in range(3):
        AuditEvent.objects.create(event=AuditEvent.LOGIN, username=f"user{number}")
    settings.PACSWEB_AUDIT_SYSLOG = rsyslog.url
    call_command(
        "export_audit", "--since", "2000-01-01", "--format", "syslog", stderr=io.StringIO()
    )
    users = {
        _audit_message(line)[1].find("ActiveParticipant").get("UserID") for line in rsyslog.lines(3)
    }
    assert users == {"user0", "user1", "user2"}


@pytest.mark.django_db
def test_export_audit_writes_one_xml_document_of_the_range():
    AuditEvent.objects.create(event=AuditEvent.LOGIN, username="early")
    AuditEvent.objects.filter(username="early").update(
        timestamp=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    )
    AuditEvent.objects.create(event=AuditEvent.LOGOUT, username="inside")
    out = io.StringIO()
    call_command("export_audit", "--since", "2025-01-01T00:00:00+00:00", stdout=out)
    document = ET.fromstring(out.getvalue().encode("utf-8"))
    assert document.tag == "AuditMessages"
    users = [m.find("ActiveParticipant").get("UserID") for m in document.findall("AuditMessage")]
    assert users == ["inside"]
