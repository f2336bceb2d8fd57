"""A user's folder of .txt documents as a corpus: tokenized once, whole documents held out, and safe when
several runs of a pool prepare the same folder at once."""

import json
from pathlib import Path

import pytest

from bayes_moe.errors import InputError
from bayes_moe.train import data


def _folder(tmp_path: Path, n: int = 6) -> Path:
    folder = tmp_path / "texts"
    folder.mkdir()
    for i in range(n):
        (folder / f"doc{i}.txt").write_text(f"Document {i}. " + "The quick brown fox jumps over the lazy dog. " * 40)
    return folder


def _complete(out: Path) -> dict:
    """The manifest of ``out``, after checking every shard against its sha256."""
    manifest = json.loads((out / data.MANIFEST).read_text())
    for split in manifest["splits"].values():
        for shard in split["shards"]:
            assert data.sha256_file(out / shard["file"]) == shard["sha256"]
    return manifest


def test_a_text_folder_is_tokenized_once_with_whole_documents_held_out(tmp_path):
    folder, cache = _folder(tmp_path), tmp_path / "cache"
    out = data.prepare_text_folder(folder, cache)
    manifest = _complete(out)
    assert manifest["splits"]["val"]["documents"] >= 1
    assert manifest["splits"]["train"]["documents"] + manifest["splits"]["val"]["documents"] == 6
    stamp = (out / data.MANIFEST).stat().st_mtime_ns
    assert data.prepare_text_folder(folder, cache) == out and (out / data.MANIFEST).stat().st_mtime_ns == stamp
    assert sorted(p.name for p in cache.iterdir()) == [out.name]  # no staging folder left


def test_a_process_that_loses_the_race_keeps_the_winners_corpus(tmp_path, monkeypatch):
    """Another process publishes the same corpus while this one tokenizes: this one's rename fails, it
    returns the winner's complete folder and leaves nothing of its own behind."""
    folder, cache = _folder(tmp_path), tmp_path / "cache"
    write_corpus, winner = data.write_corpus, {}

    def write_while_another_publishes(out, *args, **kwargs):
        if not winner:
            winner["out"] = None  # the other process writes with the real write_corpus
            winner["out"] = data.prepare_text_folder(folder, cache)  # start to end, while this one waits
            winner["stamp"] = (winner["out"] / data.MANIFEST).stat().st_mtime_ns
        return write_corpus(out, *args, **kwargs)

    monkeypatch.setattr(data, "write_corpus", write_while_another_publishes)
    out = data.prepare_text_folder(folder, cache)
    assert out == winner["out"] and (out / data.MANIFEST).stat().st_mtime_ns == winner["stamp"]
    _complete(out)
    assert sorted(p.name for p in cache.iterdir()) == [out.name]


def test_a_half_written_folder_from_an_older_version_is_rebuilt(tmp_path):
    folder, cache = _folder(tmp_path), tmp_path / "cache"
    out = data.prepare_text_folder(folder, cache)
    (out / data.MANIFEST).unlink()
    (out / "train_000.bin").write_bytes(b"\0")
    assert data.prepare_text_folder(folder, cache) == out
    _complete(out)


def test_a_folder_with_one_document_is_refused(tmp_path):
    with pytest.raises(InputError, match="needs at least 2 .txt documents"):
        data.prepare_text_folder(_folder(tmp_path, n=1), tmp_path / "cache")
