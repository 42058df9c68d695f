"""Fetch the viewer's WASM JPEG-LS decoder from the npm registry into a static folder.

Plain Python (no npm needed on a server): the package's tarball, checked against its
pinned SHA-256, then the built decoder and its licence; the Emscripten factory gets one
line that lets a module worker import it.
"""

import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

PACKAGE = "@cornerstonejs/codec-charls"
VERSION = "1.2.7"
SHA256 = "0383755533c104b171b3c0e2bcc45c3c5e9c317e7e6f35ffef38a74371bfa93f"
REGISTRY = "https://registry.npmjs.org"


def tarball_url() -> str:
    """Where the registry keeps the pinned version's tarball."""
    return f"{REGISTRY}/{PACKAGE}/-/{PACKAGE.split('/')[1]}-{VERSION}.tgz"


def install(folder: Path, tarball: bytes) -> None:
    """Check ``tarball`` and write the decoder into ``folder``."""
    digest = hashlib.sha256(tarball).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"{PACKAGE}@{VERSION}: SHA-256 {digest}, expected {SHA256}")
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        read = lambda name: archive.extractfile(f"package/{name}").read()  # noqa: E731
        (folder / "charlswasm_decode.wasm").write_bytes(read("dist/charlswasm_decode.wasm"))
        (folder / "LICENSE").write_bytes(read("LICENSE"))
        factory = read("dist/charlswasm_decode.js")
    (folder / "charlswasm_decode.mjs").write_bytes(factory + b"\nexport default CharLSWASM;\n")


def main() -> None:
    folder = Path(sys.argv[1])
    with urllib.request.urlopen(tarball_url(), timeout=60) as response:
        install(folder, response.read())
    print(f"{PACKAGE}@{VERSION} -> {folder}")


if __name__ == "__main__":
    main()
