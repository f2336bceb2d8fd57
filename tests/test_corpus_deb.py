"""Ubuntu packages as corpus sources, on a tiny synthetic .deb (no network): what is selected, the md5sums
checks on both sides (archive and installed copy), and a deb's files joining the wheels' in one build."""

import hashlib
import shutil
import subprocess

import pytest

from bayes_moe.errors import InputError
from bayes_moe.train import corpus as build
from bayes_moe.train import corpus_code as code
from bayes_moe.train import corpus_deb as deb

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb reads .deb archives")

HEADER = b"#pragma once\n/* A header. */\nstatic inline int twice(int x) { return 2 * x; }\n" * 3
MODULE = b'"""A module."""\n\n\ndef add(a, b):\n    return a + b\n\n\n' * 4
FILES = {"usr/include/pkg/core.h": HEADER, "usr/include/c++/13/vector": HEADER + b"// vector\n",
         "usr/include/pkg/table.inc": HEADER + b"// not C by name\n", "usr/include/pkg/gen.h": b"/* DO NOT EDIT */\n" + HEADER,
         "usr/lib/gcc/x86_64-linux-gnu/13/include/intrin.h": HEADER + b"// intrinsics\n",
         "usr/lib/python3.12/json/tool.py": MODULE, "usr/lib/python3/dist-packages/pip/x.py": MODULE + b"# pip\n",
         "usr/share/doc/pkg/example.c": HEADER + b"// docs\n",
         "usr/share/doc/pkg/copyright": b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
                                        b"Files: *\nLicense: MIT\n\nFiles: x/*\nLicense: BSD-3-clause\n"}
SELECTED = ["usr/include/c++/13/vector", "usr/include/pkg/core.h", "usr/lib/gcc/x86_64-linux-gnu/13/include/intrin.h",
            "usr/lib/python3.12/json/tool.py", "usr/lib/python3/dist-packages/pip/x.py"]  # gen.h: generated


def _md5sums(files):
    return "".join(f"{hashlib.md5(c).hexdigest()}  {p}\n" for p, c in sorted(files.items())).encode()


def _write_deb(tmp_path, files, md5sums=None, name="pkg", links=()):
    """A .deb of ``files`` ({path: bytes}) and hard ``links`` ((path, target) pairs)."""
    root = tmp_path / f"{name}-root"
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
    for path, target in links:
        (root / path).hardlink_to(root / target)
        files = {**files, path: files[target]}
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN/control").write_text(f"Package: {name}\nVersion: 1.0-1\nArchitecture: all\n"
                                         "Maintainer: A Tester <a@example.org>\nDescription: test package\n")
    (root / "DEBIAN/md5sums").write_bytes(md5sums if md5sums is not None else _md5sums(files))
    out = tmp_path / f"{name}_1.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(out)],
                   check=True, capture_output=True)
    shutil.rmtree(root)
    return out


def _install(tmp_path, files, md5sums=None, name="pkg"):
    """A system root with the package's files and dpkg's copy of its md5sums."""
    root = tmp_path / "system"
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
    (root / deb.DPKG_INFO).mkdir(parents=True, exist_ok=True)
    (root / deb.DPKG_INFO / f"{name}:amd64.md5sums").write_bytes(md5sums if md5sums is not None else _md5sums(files))
    return root


def test_deb_sources_select_checked_files_that_the_installed_copy_also_gives(tmp_path):
    archive = _write_deb(tmp_path, FILES)
    digest = hashlib.sha256(deb.md5sums_of(archive)).hexdigest()
    from_deb = code.selected("pkg", deb.deb_sources(archive, digest))
    assert [f.path for f in from_deb] == SELECTED
    assert [f.language for f in from_deb] == ["c", "c", "c", "python", "python"]
    root = _install(tmp_path, FILES)
    installed = code.selected("pkg", deb.installed_sources("pkg", "1.0-1", digest, root=root))
    assert installed == from_deb and code.selection_sha256(installed) == code.selection_sha256(from_deb)
    with pytest.raises(InputError, match="its md5sums differ from the pinned ones"):
        list(deb.deb_sources(archive, "0" * 64))
    with pytest.raises(InputError, match="is not the pinned 2.0"):
        list(deb.installed_sources("pkg", "2.0", "0" * 64, root=root))
    (root / "usr/include/pkg/core.h").write_bytes(HEADER + b"// edited\n")
    with pytest.raises(InputError, match="installed pkg: usr/include/pkg/core.h does not match its md5sum"):
        list(deb.installed_sources("pkg", "1.0-1", digest, root=root))
    (root / "usr/include/pkg/core.h").unlink()
    with pytest.raises(InputError, match="/usr/include/pkg/core.h is in its md5sums but missing"):
        list(deb.installed_sources("pkg", "1.0-1", digest, root=root))
    absent = frozenset({"usr/include/pkg/core.h"})  # pinned as missing from the GPU image: out on both sides
    trimmed = code.selected("pkg", deb.installed_sources("pkg", "1.0-1", digest, absent, root=root))
    assert trimmed == code.selected("pkg", deb.deb_sources(archive, digest, absent)) == from_deb[:1] + from_deb[2:]
    with pytest.raises(InputError, match="pinned Ubuntu package other is not installed"):
        list(deb.installed_sources("other", "1.0", digest, root=root))


def test_a_deb_whose_file_differs_from_its_md5sums_is_refused(tmp_path):
    sums = _md5sums({**FILES, "usr/include/pkg/core.h": HEADER + b"// other\n"})
    archive = _write_deb(tmp_path, FILES, md5sums=sums)
    with pytest.raises(InputError, match="usr/include/pkg/core.h does not match its md5sum"):
        list(deb.deb_sources(archive, hashlib.sha256(sums).hexdigest()))
    linked = _write_deb(tmp_path, {"usr/include/a.h": HEADER}, name="linked", links=[("usr/include/b.h", "usr/include/a.h")])
    pairs = list(deb.deb_sources(linked, hashlib.sha256(deb.md5sums_of(linked)).hexdigest()))
    assert pairs == [("usr/include/a.h", HEADER), ("usr/include/b.h", HEADER)]
    with pytest.raises(InputError, match="malformed md5sums line"):
        deb.parse_md5sums(b"not a digest  usr/include/x.h\n", "pkg")


def test_licence_from_the_table_or_the_machine_readable_copyright(tmp_path):
    archive = _write_deb(tmp_path, FILES)
    assert deb.license_of(archive, "pkg") == "MIT; BSD-3-clause"
    assert deb.license_of(archive, "glibc") == "LGPL-2.1+"
    bare = _write_deb(tmp_path, {"usr/include/a.h": HEADER}, name="bare")
    with pytest.raises(InputError, match="no machine-readable licence"):
        deb.license_of(bare, "bare")


def test_read_code_takes_wheels_and_debs_and_keeps_a_shared_file_once(tmp_path, monkeypatch):
    archive = _write_deb(tmp_path, FILES)
    md5sums_sha256 = hashlib.sha256(deb.md5sums_of(archive)).hexdigest()
    files = code.selected("pkg", deb.deb_sources(archive, md5sums_sha256))
    wheel_file = code.CodeFile("aaa", "aaa/tool.py", MODULE.decode())  # the same content as the stdlib's tool.py
    monkeypatch.setattr(build, "download_wheel", lambda name, version: "unused.whl")
    monkeypatch.setattr(build.corpus_deb, "download", lambda filename, sha256, folder: archive)
    monkeypatch.setattr(build.corpus_code, "wheel_sources",
                        lambda wheel: iter([(wheel_file.path, wheel_file.text.encode())]))
    pins = {"packages": [{"name": "aaa", "version": "1", "bytes": 1, "files": 1,
                          "selection_sha256": code.selection_sha256([wheel_file])}],
            "ubuntu": {"packages": [{"name": "pkg", "version": "1.0-1", "filename": "pool/p/pkg.deb", "sha256": "x",
                                     "md5sums_sha256": md5sums_sha256, "bytes": 2, "files": len(files),
                                     "selection_sha256": code.selection_sha256(files)}]}}
    kept = build.read_code(pins, installed=False, processes=2)
    assert [f.name for f in kept] == ["aaa/aaa/tool.py"] + [f"pkg/{p}" for p in SELECTED if not p.endswith("tool.py")]
    pins["ubuntu"]["packages"][0]["selection_sha256"] = "0" * 64
    with pytest.raises(InputError, match="1 pinned packages do not match"):
        build.read_code(pins, installed=False, processes=2)
