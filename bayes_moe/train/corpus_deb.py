"""Source code out of Ubuntu packages: the C/C++ headers under ``/usr/include`` and the Python standard
library of the GPU machines' image (Ubuntu 24.04), as corpus documents.

The same files are read on two kinds of machine: out of the pinned ``.deb`` archives, downloaded from
the Ubuntu archive, on a CPU machine (``dpkg-deb --fsys-tarfile``), and from the installed system on a
GPU machine (no network). Either way each file is checked against dpkg's ``md5sums`` of its package,
whose sha256 is pinned (dpkg installs that control file as the ``.deb`` holds it, so a GPU machine
proves its package is the pinned version by the same digest), then filtered by the code rules
(``corpus_code.rejection``): both sides select the same files, and the pinned per-package digest of
the selection must come out equal.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import re
import subprocess
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bayes_moe.errors import InputError
from bayes_moe.train import corpus_code

MIRROR = "http://archive.ubuntu.com/ubuntu/"  # the pinned sha256 vouches for what comes over plain HTTP
INCLUDE = "usr/include/"
PYTHON_DIRS = ("usr/lib/python3.12/", "usr/lib/python3/dist-packages/")
HEADER_SUFFIXES = (".h", ".hh", ".hpp", ".hxx", ".c", ".cc", ".cpp", ".cxx", ".cu", ".cuh",
                   ".tcc", ".ipp")  # .tcc/.ipp: template bodies that libstdc++ and Boost include
DPKG_INFO = "var/lib/dpkg/info"


def is_source(path: str) -> bool:
    """A C-family file under /usr/include or /usr/lib (compilers' and MPI's include folders), an
    extension-less C++ header under /usr/include (``c++/13/vector``, ``Eigen/Dense``), or a Python module
    of the standard library or of Ubuntu's dist-packages; ``path`` as dpkg lists it (no leading slash)."""
    name = path.rsplit("/", 1)[-1]
    if path.startswith(INCLUDE) and "." not in name:
        return True
    if path.startswith((INCLUDE, "usr/lib/")) and name.endswith(HEADER_SUFFIXES):
        return True
    return path.startswith(PYTHON_DIRS) and name.endswith(".py")


def parse_md5sums(text: bytes, where: str) -> dict[str, str]:
    """dpkg's md5sums control file: path (no leading slash) -> md5 hex digest."""
    sums = {}
    for line in text.decode("utf-8").splitlines():
        match = re.fullmatch(r"([0-9a-f]{32}) [ *](.+)", line)
        if match is None:
            raise InputError(f"{where}: malformed md5sums line {line!r}")
        sums[match[2]] = match[1]
    return sums


def _checked(path: str, content: bytes, sums: dict[str, str], where: str) -> bytes:
    if path not in sums:
        raise InputError(f"{where}: {path} is not in the package's md5sums")
    if hashlib.md5(content).hexdigest() != sums[path]:
        raise InputError(f"{where}: {path} does not match its md5sum")
    return content


def _dpkg_deb(*args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["dpkg-deb", *args], capture_output=True, check=True)
    except FileNotFoundError:
        raise InputError("dpkg-deb is needed to read .deb archives (apt-get install dpkg)") from None
    except subprocess.CalledProcessError as error:
        raise InputError(f"dpkg-deb {' '.join(args)}: {error.stderr.decode(errors='replace').strip()}") from None


def md5sums_of(deb: Path) -> bytes:
    """The raw md5sums control file of a ``.deb``."""
    return _dpkg_deb("--info", str(deb), "md5sums").stdout


def deb_files(deb: Path, wanted) -> dict[str, bytes]:
    """Contents of the regular files (and hard links) of a ``.deb`` whose path passes ``wanted``."""
    files: dict[str, bytes] = {}
    tar_stream = _dpkg_deb("--fsys-tarfile", str(deb)).stdout
    with tarfile.open(fileobj=io.BytesIO(tar_stream)) as tar:
        for member in tar:
            path = member.name.removeprefix("./")
            if (member.isfile() or member.islnk()) and wanted(path):
                files[path] = tar.extractfile(member).read()  # a hard link reads its target's content
    return files


def deb_sources(deb: Path, md5sums_sha256: str, absent: frozenset[str] = frozenset()) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of the source files in a ``.deb``, in path order, each checked against its md5sums,
    whose sha256 must be ``md5sums_sha256``; without the files ``absent`` from the GPU image."""
    raw = md5sums_of(deb)
    if hashlib.sha256(raw).hexdigest() != md5sums_sha256:
        raise InputError(f"{deb.name}: its md5sums differ from the pinned ones")
    sums = parse_md5sums(raw, deb.name)
    files = deb_files(deb, lambda path: is_source(path) and path not in absent)
    for path in sorted(files):
        yield path, _checked(path, files[path], sums, deb.name)


def installed_md5sums(name: str, root: Path = Path("/")) -> bytes:
    """The md5sums dpkg keeps for the installed package ``name`` (``name:amd64`` for multi-arch ones)."""
    for candidate in (f"{name}:amd64.md5sums", f"{name}.md5sums"):
        path = root / DPKG_INFO / candidate
        if path.is_file():
            return path.read_bytes()
    raise InputError(f"pinned Ubuntu package {name} is not installed (no md5sums under /{DPKG_INFO})")


def installed_sources(name: str, version: str, md5sums_sha256: str, absent: frozenset[str] = frozenset(),
                      root: Path = Path("/")) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of the source files of the installed package ``name``, in path order, each checked
    against the package's md5sums, which must be the pinned ones (so the package is at ``version``);
    without the files pinned as ``absent`` (the GPU image lacks them)."""
    raw = installed_md5sums(name, root)
    if hashlib.sha256(raw).hexdigest() != md5sums_sha256:
        raise InputError(f"installed Ubuntu package {name} is not the pinned {version} (its md5sums differ)")
    sums = parse_md5sums(raw, name)
    for path in sorted(p for p in sums if is_source(p) and p not in absent):
        file = root / path
        if not file.is_file():
            raise InputError(f"installed {name}: /{path} is in its md5sums but missing")
        yield path, _checked(path, file.read_bytes(), sums, f"installed {name}")


def _fetch(url: str) -> bytes:
    try:
        return urllib.request.urlopen(url, timeout=120).read()
    except OSError as error:
        raise InputError(f"cannot download {url}: {error}") from None


def download(filename: str, sha256: str, folder: Path) -> Path:
    """The pinned ``.deb`` at ``filename`` (its pool path) from ``MIRROR``, cached in ``folder``."""
    deb = folder / filename.rsplit("/", 1)[-1]
    if not deb.is_file() or hashlib.sha256(deb.read_bytes()).hexdigest() != sha256:
        content = _fetch(MIRROR + filename)
        if hashlib.sha256(content).hexdigest() != sha256:
            raise InputError(f"{MIRROR + filename} is not the pinned .deb (sha256 differs)")
        folder.mkdir(parents=True, exist_ok=True)
        partial = deb.with_suffix(".part")
        partial.write_bytes(content)
        partial.replace(deb)
    return deb


# --- pinning (once, by a maintainer) ---------------------------------------------------------------

SUITES = ("noble", "noble-security", "noble-updates")
COMPONENTS = ("main", "universe")


def archive_index() -> dict[tuple[str, str], dict[str, str]]:
    """(package, version) -> Filename, SHA256 and suite of every amd64 and all binary package that the
    Ubuntu 24.04 suites list now."""
    index = {}
    for suite in SUITES:
        for component in COMPONENTS:
            raw = lzma.decompress(_fetch(f"{MIRROR}dists/{suite}/{component}/binary-amd64/Packages.xz"))
            for stanza in raw.decode("utf-8").split("\n\n"):
                fields = dict(re.findall(r"^(Package|Version|Filename|SHA256): (.+)$", stanza, re.MULTILINE))
                if "Package" in fields:
                    index[fields["Package"], fields["Version"]] = {**fields, "suite": f"{suite}/{component}"}
    return index


def locate(name: str, version: str, arch: str, source: str, index: dict) -> tuple[str, str, str]:
    """(pool path, sha256, where it was found) of a package version: from the suites' index, else (a
    version since superseded) straight from the pool, its sha256 taken from the download."""
    if (name, version) in index:
        entry = index[name, version]
        return entry["Filename"], entry["SHA256"], entry["suite"]
    prefix = source[:4] if source.startswith("lib") else source[0]
    for component in COMPONENTS:
        filename = f"pool/{component}/{prefix}/{source}/{name}_{version.split(':')[-1]}_{arch}.deb"
        try:
            return filename, hashlib.sha256(_fetch(MIRROR + filename)).hexdigest(), "pool (superseded)"
        except InputError:
            continue
    raise InputError(f"{name}={version} is neither in the Ubuntu 24.04 suites nor in the pool")


def pin_package(name: str, version: str, arch: str, source: str, index: dict, folder: Path,
                present: frozenset[str]) -> dict:
    """The pinned entry of one Ubuntu package: where its .deb is, its sha256 and md5sums' sha256, its
    licence, the source files of its md5sums that the GPU image lacks (not among the ``present`` paths
    that the probe found there; left out on both sides) and the digest of its selected files."""
    filename, sha256, found = locate(name, version, arch, source, index)
    deb = download(filename, sha256, folder)
    raw = md5sums_of(deb)
    md5sums_sha256 = hashlib.sha256(raw).hexdigest()
    absent = sorted(p for p in parse_md5sums(raw, deb.name) if is_source(p) and p not in present)
    files = corpus_code.selected(name, deb_sources(deb, md5sums_sha256, frozenset(absent)))
    return {"name": name, "version": version, "filename": filename, "sha256": sha256, "found_in": found,
            "license": license_of(deb, source), "md5sums_sha256": md5sums_sha256, "absent": absent, "files": len(files),
            "bytes": sum(len(f.text.encode()) for f in files), "selection_sha256": corpus_code.selection_sha256(files)}


# Licences of the packages whose copyright file is not machine-readable (or lies in another package's
# folder), by source package, read off those files by hand.
LICENSES = {"glibc": "LGPL-2.1+", "gcc-12": "GPL-3+ WITH GCC-exception-3.1", "gcc-13": "GPL-3+ WITH GCC-exception-3.1",
            "python3.12": "PSF-2.0", "protobuf": "BSD-3-Clause", "openssl": "Apache-2.0",
            "linux": "GPL-2.0 WITH Linux-syscall-note", "libxcrypt": "LGPL-2.1+", "libaec": "BSD-2-Clause",
            "libtool": "LGPL-2.1+", "numactl": "LGPL-2.1", "openmpi": "BSD-3-Clause", "hwloc": "BSD-3-Clause",
            "libnl3": "LGPL-2.1"}


def license_of(deb: Path, source: str) -> str:
    """The licences of a package: ``LICENSES``, else those its machine-readable copyright file names."""
    if source in LICENSES:
        return LICENSES[source]
    files = deb_files(deb, lambda p: p.startswith("usr/share/doc/") and p.endswith("/copyright"))
    text = b"".join(files[p] for p in sorted(files)).decode("utf-8", "replace")
    names = list(dict.fromkeys(m.strip() for m in re.findall(r"^License: *(\S.*)$", text, re.MULTILINE)))
    if not names:
        raise InputError(f"{deb.name}: no machine-readable licence; add its source {source!r} to LICENSES")
    return "; ".join(names)
