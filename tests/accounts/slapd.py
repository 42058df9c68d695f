"""A real OpenLDAP directory (Debian's slapd) for the sign-in tests, in a temporary folder:
people, a service account, and groupOfNames groups for staff and administrators."""

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.base import free_port, require_peer, stop_process, wait_listening

BASE = "dc=hospital,dc=example"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
ROOT_DN, ROOT_PASSWORD = f"cn=admin,{BASE}", "directory-root-pw"
READER_DN, READER_PASSWORD = f"cn=pacsweb-reader,{BASE}", "reader-secret-pw"
STAFF_GROUP = f"cn=pacs-staff,{GROUPS}"
ADMIN_GROUP = f"cn=pacs-admins,{GROUPS}"
RADIOLOGY_GROUP = f"cn=radiology,{GROUPS}"
IT_GROUP = f"cn=it-department,{GROUPS}"

# uid → (given name, surname, password); names in Chinese, as a hospital's directory has.
PEOPLE_ENTRIES = {
    "wangfang": ("芳", "王", "wangfang-ldap-pw"),
    "lina": ("娜", "李", "lina-ldap-pw"),
    "zhaolei": ("磊", "赵", "zhaolei-ldap-pw"),
    "chenjie": ("杰", "陈", "chenjie-ldap-pw"),
    "sunli": ("丽", "孙", "sunli-ldap-pw"),
}
# group → members: lina and sunli are staff, zhaolei an administrator, chenjie one by way
# of IT. (A groupOfNames needs a member, so no group is left empty by a test.)
GROUP_MEMBERS = {
    STAFF_GROUP: ["uid=lina", "uid=sunli"],
    ADMIN_GROUP: ["uid=zhaolei", "cn=it-department"],
    IT_GROUP: ["uid=chenjie"],
    RADIOLOGY_GROUP: ["uid=wangfang", "uid=lina"],
}


def person_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def _member_dn(rdn: str) -> str:
    return f"{rdn},{PEOPLE}" if rdn.startswith("uid=") else f"{rdn},{GROUPS}"


@dataclass
class Directory:
    """A running slapd: where it listens and how to change its entries."""

    process: subprocess.Popen
    port: int
    ca_file: Path  # the CA that signed slapd's certificate, for StartTLS

    @property
    def uri(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def _connect(self):
        import ldap

        connection = ldap.initialize(self.uri)
        connection.simple_bind_s(ROOT_DN, ROOT_PASSWORD)
        return connection

    def add_member(self, group_dn: str, member_dn: str) -> None:
        import ldap

        self._connect().modify_s(group_dn, [(ldap.MOD_ADD, "member", [member_dn.encode()])])

    def remove_member(self, group_dn: str, member_dn: str) -> None:
        import ldap

        self._connect().modify_s(group_dn, [(ldap.MOD_DELETE, "member", [member_dn.encode()])])

    def stop(self) -> None:
        stop_process(self.process)


def _ldif(hashed: dict[str, str]) -> str:
    entries = [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: hospital\no: Hospital",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: {READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: pacsweb-reader\nuserPassword: {hashed['pacsweb-reader']}",
    ]
    for uid, (given, surname, _password) in PEOPLE_ENTRIES.items():
        entries.append(
            f"dn: {person_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
            f"cn: {surname}{given}\ngivenName: {given}\nsn: {surname}\n"
            f"mail: {uid}@hospital.example\nuserPassword: {hashed[uid]}"
        )
    for group_dn, members in GROUP_MEMBERS.items():
        cn = group_dn.split(",", 1)[0].removeprefix("cn=")
        lines = [f"dn: {group_dn}", "objectClass: groupOfNames", f"cn: {cn}"]
        lines += [f"member: {_member_dn(rdn)}" for rdn in members]
        entries.append("\n".join(lines))
    return "\n\n".join(entries) + "\n"


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate authority made with the openssl CLI: (certificate, key)."""
    openssl = require_peer("openssl")
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}"],
        capture_output=True,
        check=True,
    )
    return cert, key


def _server_certificate(folder: Path, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by ``ca``: (certificate, key)."""
    openssl = require_peer("openssl")
    cert, key, request = folder / "server.pem", folder / "server.key", folder / "server.csr"
    extensions = folder / "server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    subprocess.run(
        [openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(request), "-subj", "/CN=127.0.0.1"],
        capture_output=True,
        check=True,
    )
    subprocess.run(
        [openssl, "x509", "-req", "-in", str(request), "-CA", str(ca[0]), "-CAkey", str(ca[1])]
        + ["-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(extensions)],
        capture_output=True,
        check=True,
    )
    return cert, key


def _slapd_conf(folder: Path, ca_file: Path, cert: tuple[Path, Path]) -> str:
    schemas = "\n".join(
        f"include /etc/ldap/schema/{name}.schema" for name in ("core", "cosine", "inetorgperson")
    )
    return f"""{schemas}
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {ca_file}
TLSCertificateFile {cert[0]}
TLSCertificateKeyFile {cert[1]}
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args

database mdb
maxsize 10485760
suffix "{BASE}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {folder}/data

# As a hospital's directory: passwords only for binding, entries only for bound users.
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by users read
  by * none
"""


def start_directory(folder: Path) -> Directory:
    """slapd with the people and groups above, on a free port of 127.0.0.1."""
    slapd = require_peer("slapd")
    slapadd, slappasswd = require_peer("slapadd"), require_peer("slappasswd")
    (folder / "data").mkdir(parents=True)
    conf = folder / "slapd.conf"
    ca = make_ca(folder, "directory-ca")
    conf.write_text(_slapd_conf(folder, ca[0], _server_certificate(folder, ca)))
    passwords = {uid: entry[2] for uid, entry in PEOPLE_ENTRIES.items()}
    passwords["pacsweb-reader"] = READER_PASSWORD
    hashed = {
        name: subprocess.run(
            [slappasswd, "-s", password], capture_output=True, text=True, check=True
        ).stdout.strip()
        for name, password in passwords.items()
    }
    ldif = folder / "people.ldif"
    ldif.write_text(_ldif(hashed), encoding="utf-8")
    subprocess.run(
        [slapadd, "-f", str(conf), "-l", str(ldif)], capture_output=True, text=True, check=True
    )
    port = free_port()
    process = subprocess.Popen(
        [slapd, "-d", "0", "-h", f"ldap://127.0.0.1:{port}/", "-f", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_listening(port, process)
    return Directory(process=process, port=port, ca_file=ca[0])
