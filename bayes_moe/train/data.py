"""Token data for the trainer: the shipped BPE tokenizer, uint16 token shards with a manifest, and the
batches a run reads from them. The default corpus is built once per machine by ``make corpus`` or, on a
machine without network, ``python -m bayes_moe.train.corpus --from-installed`` (train/corpus.py); a
small sample of it ships in ``bayes_moe/data/sample``.

A corpus folder holds ``manifest.json`` and ``{split}_{i:03d}.bin`` shards (little-endian uint16
token ids, each document followed by the end-of-text token). The manifest records every shard's token
count and sha256 and the tokenizer's sha256; ``open_corpus`` checks the shards and maps them into
memory (a run reads only the windows it samples).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bayes_moe.arch import DEFAULT_VOCAB
from bayes_moe.errors import InputError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TOKENIZER_PATH = DATA_DIR / "tokenizer.json"
TOKENIZER_V1_PATH = DATA_DIR / "tokenizer-v1.json"  # the English-only corpus's (experiments/h100_*)
SAMPLE_DIR = DATA_DIR / "sample"
CORPUS_ENV = "BAYES_MOE_CORPUS"
DEFAULT_CORPUS = Path("corpus")  # where `make corpus` writes, relative to the working directory
EOT = "<|endoftext|>"
MANIFEST = "manifest.json"
FORMAT = "bayes_moe-tokens-1"
SHARD_TOKENS = 1 << 24  # 32 MiB per shard
VAL_PERCENT = 5  # share of documents held out for validation, chosen by a hash of the document's name
ENCODE_CHUNK = 4096  # documents per batch handed to the tokenizer (its threads share a batch)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def name_hash(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest(), 16)


def sha256_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def is_validation(name: str, percent: int = VAL_PERCENT) -> bool:
    """Whether the document called ``name`` is held out (``percent`` of documents): a hash, so stable
    across rebuilds."""
    return name_hash(name) % 100 < percent


# --- tokenizer ------------------------------------------------------------------------------------


def train_tokenizer(texts: list[str], path: Path, vocab_size: int = DEFAULT_VOCAB) -> None:
    """Byte-level BPE (GPT-2 style, so any text encodes) with the end-of-text token as id 0."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOT],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path))


def load_tokenizer(path: Path = TOKENIZER_PATH):
    from tokenizers import Tokenizer

    if not path.is_file():
        raise InputError(f"no tokenizer at {path}; build one with `make corpus` (--retrain-tokenizer)")
    return Tokenizer.from_file(str(path))


# --- writing shards -------------------------------------------------------------------------------


def write_corpus(out: Path, splits: dict[str, list[str]], *, sources: list[dict] | None = None,
                 tokenizer_path: Path = TOKENIZER_PATH, labels: dict[str, list[str]] | None = None,
                 extra: dict | None = None, limits: dict[str, int] | None = None) -> dict:
    """Tokenize each split's documents into shards under ``out`` and write the manifest last, so a
    folder with a manifest is always complete. ``labels`` (one per document, e.g. "python:torch")
    give the manifest's token counts per label; ``extra`` is merged into the manifest; ``limits``
    keep only the first tokens of a split (a sample: only the documents needed are tokenized)."""
    tokenizer = load_tokenizer(tokenizer_path)
    eot = tokenizer.token_to_id(EOT)
    if tokenizer.get_vocab_size() > 1 << 16:
        raise InputError(f"tokenizer {tokenizer_path} has {tokenizer.get_vocab_size()} tokens, uint16 holds 65536")
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"format": FORMAT, "dtype": "uint16", "vocab_size": tokenizer.get_vocab_size(), "eot": eot,
                "tokenizer_sha256": sha256_file(tokenizer_path), "sources": sources or [], **(extra or {}),
                "splits": {}}
    for split, texts in splits.items():
        limit = (limits or {}).get(split)
        ids = _encode(tokenizer, texts, eot, limit)
        stream = (np.concatenate(ids) if ids else np.zeros(0, np.uint16))[:limit]
        manifest["splits"][split] = {"documents": len(ids), "tokens": int(stream.size),
                                     "shards": _write_shards(out, split, stream)}
        if labels is not None:
            counts: dict[str, int] = {}
            for label, doc in zip(labels[split][:len(ids)], ids, strict=True):
                counts[label] = counts.get(label, 0) + int(doc.size)
            manifest["splits"][split]["tokens_by_label"] = dict(sorted(counts.items()))
    if labels is not None:
        manifest["mix"] = _mix(manifest["splits"]["train"]["tokens_by_label"])
    manifest.update(_totals(manifest["splits"]))
    _write_json_atomic(out / MANIFEST, manifest)
    return manifest


def _totals(splits: dict) -> dict:
    """The headline counts a reader looks for first: training and validation tokens."""
    return {"train_tokens": splits.get("train", {}).get("tokens", 0),
            "validation_tokens": splits.get("val", {}).get("tokens", 0)}


def _mix(tokens_by_label: dict[str, int]) -> dict:
    """Training tokens and share per kind of text (the part of a label before ':')."""
    kinds: dict[str, int] = {}
    for label, tokens in tokens_by_label.items():
        kinds[label.split(":")[0]] = kinds.get(label.split(":")[0], 0) + tokens
    total = max(sum(kinds.values()), 1)
    return {kind: {"tokens": n, "share": round(n / total, 4)} for kind, n in sorted(kinds.items())}


def _encode(tokenizer, texts: list[str], eot: int, limit: int | None = None) -> list[np.ndarray]:
    """Each document's token ids followed by ``eot``, encoded in batches on all cores (the tokenizer's
    own threads) without keeping its per-token offsets; only until ``limit`` tokens if given."""
    ids, tokens, chunk = [], 0, ENCODE_CHUNK if limit is None else 64
    for start in range(0, len(texts), chunk):
        if limit is not None and tokens >= limit:
            break
        ids += [np.array(e.ids + [eot], dtype=np.uint16) for e in tokenizer.encode_batch_fast(texts[start:start + chunk])]
        tokens = sum(doc.size for doc in ids)
    return ids


def _write_shards(out: Path, split: str, stream: np.ndarray) -> list[dict]:
    shards = []
    for i, start in enumerate(range(0, max(stream.size, 1), SHARD_TOKENS)):
        path = out / f"{split}_{i:03d}.bin"
        stream[start:start + SHARD_TOKENS].astype("<u2").tofile(path)
        shards.append({"file": path.name, "tokens": int(min(SHARD_TOKENS, stream.size - start)),
                       "sha256": sha256_file(path)})
    return shards


def _write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def prepare_text_folder(folder: Path, cache: Path) -> Path:
    """A user's folder of ``*.txt`` documents, tokenized once into ``cache/<content hash>``; whole
    documents held out for validation by the same rule as the default corpus (at least one). Built in a
    private folder and renamed into place, so processes that prepare the same folder at once (a pool's
    runs) never see, or overwrite, each other's half-written shards: the first rename wins."""
    files = sorted(folder.rglob("*.txt"))
    if len(files) < 2:
        raise InputError(f"corpus folder {folder} needs at least 2 .txt documents (one is held out), "
                         f"found {len(files)}")
    digest = hashlib.sha256(sha256_file(TOKENIZER_PATH).encode())
    for path in files:
        digest.update(str(path.relative_to(folder)).encode() + sha256_file(path).encode())
    out = cache / digest.hexdigest()[:16]
    if (out / MANIFEST).is_file():
        return out
    names = [str(p.relative_to(folder)) for p in files]
    held = {n for n in names if is_validation(n)} or {names[-1]}
    texts = {n: p.read_text(encoding="utf-8", errors="replace") for n, p in zip(names, files)}
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=cache))
    try:
        write_corpus(staging, {"train": [texts[n] for n in names if n not in held],
                               "val": [texts[n] for n in names if n in held]},
                     sources=[{"folder": str(folder.resolve()), "documents": len(files)}])
        if out.is_dir() and not (out / MANIFEST).is_file():
            shutil.rmtree(out)  # left half-written by a version that tokenized in place
        try:
            os.rename(staging, out)
        except OSError:
            if not (out / MANIFEST).is_file():  # not another process's complete copy: a real fault
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


# --- reading --------------------------------------------------------------------------------------


class TokenStream:
    """One split's shards as a single sequence of tokens, read by slices without loading the shards:
    ``stream[a:b]`` copies only the tokens asked for (across a shard boundary if need be)."""

    def __init__(self, shards: list[np.memmap]):
        self.shards = shards
        self.starts = np.cumsum([0] + [s.size for s in shards])
        self.size = int(self.starts[-1])

    def __getitem__(self, window: slice) -> np.ndarray:
        start, stop, step = window.indices(self.size)
        if step != 1:
            raise ValueError("token streams are read by contiguous slices")
        first = int(np.searchsorted(self.starts, start, side="right")) - 1
        parts = []
        while start < stop:
            shard, offset = self.shards[first], start - int(self.starts[first])
            part = shard[offset:offset + stop - start]
            parts.append(part)
            start += part.size
            first += 1
        return np.concatenate(parts) if len(parts) != 1 else np.asarray(parts[0])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """The whole split in memory: for small corpora and tests only."""
        return self[:].astype(dtype) if dtype is not None else self[:]


@dataclass
class Corpus:
    """Memory-mapped token shards of one corpus folder."""

    path: Path
    manifest: dict
    shards: dict[str, list[np.memmap]]

    def split(self, name: str) -> TokenStream:
        return TokenStream(self.shards[name])

    @property
    def sha256(self) -> str:
        """Identity of the data a run saw: the manifest's hash."""
        return sha256_file(self.path / MANIFEST)

    def passes(self, tokens: int) -> float:
        """Passes over the training split that ``tokens`` training tokens make (epochs): above ~4,
        repeated data starts to cost (Muennighoff et al. 2023)."""
        return tokens / self.manifest["splits"]["train"]["tokens"]


def corpus_folder(path: Path | None) -> Path:
    """The corpus folder named by ``path``, else ``$BAYES_MOE_CORPUS``, else ``./corpus`` once `make corpus`
    has built it, else the shipped sample; refused unless it is a folder (a campaign checks this once,
    before any run starts, instead of every run failing alike)."""
    if path is None:
        env = os.environ.get(CORPUS_ENV)
        path = Path(env) if env else DEFAULT_CORPUS if (DEFAULT_CORPUS / MANIFEST).is_file() else SAMPLE_DIR
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"corpus {path} is neither a folder of token shards (with {MANIFEST}) nor of .txt files")
    return path


def resolve_corpus(path: Path | None, workspace: Path) -> Path:
    """The corpus folder a run reads (``corpus_folder``): token shards with a manifest as they are, a
    folder of .txt files tokenized once into the workspace."""
    path = corpus_folder(path)
    if (path / MANIFEST).is_file():
        return path
    return prepare_text_folder(path, workspace / "corpora")


def open_corpus(path: Path, vocab_size: int = DEFAULT_VOCAB) -> Corpus:
    """Open and check a corpus folder: format, shard sizes and hashes, token ids below ``vocab_size``."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read corpus manifest {path / MANIFEST}: {error}") from None
    if manifest.get("format") != FORMAT:
        raise InputError(f"{path / MANIFEST}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    if manifest["vocab_size"] > vocab_size:
        raise InputError(f"corpus {path} has vocabulary {manifest['vocab_size']}, the model only {vocab_size}")
    shards = {}
    for split in ("train", "val"):
        if split not in manifest["splits"] or not manifest["splits"][split]["tokens"]:
            raise InputError(f"corpus {path} has no {split!r} tokens")
        shards[split] = []
        for shard in manifest["splits"][split]["shards"]:
            file = path / shard["file"]
            if not file.is_file() or file.stat().st_size != 2 * shard["tokens"] or sha256_file(file) != shard["sha256"]:
                raise InputError(f"corpus shard {file} is missing or does not match {path / MANIFEST}")
            shards[split].append(np.memmap(file, dtype="<u2", mode="r"))
    return Corpus(path, manifest, shards)


class TrainBatches:
    """Random windows of ``n_ctx + 1`` training tokens. Step ``step``'s global batch of ``batch_size``
    windows depends only on (seed, step), and rank ``rank`` of ``world`` reads its contiguous share:
    the same run reads the same data on any number of GPUs, and a resumed run (with any nproc) exactly
    what the uninterrupted run would have read."""

    def __init__(self, tokens: TokenStream | np.ndarray, batch_size: int, n_ctx: int, seed: int, rank: int = 0,
                 world: int = 1):
        if tokens.size <= n_ctx + 1:
            raise InputError(f"training split has {tokens.size} tokens, fewer than one context of {n_ctx + 1}")
        if batch_size % world:
            raise InputError(f"batch_size {batch_size} is not divisible by {world} processes")
        self.tokens, self.batch_size, self.n_ctx, self.seed = tokens, batch_size, n_ctx, seed
        self.share = slice(rank * batch_size // world, (rank + 1) * batch_size // world)

    def get(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        starts = np.random.default_rng([self.seed, step]).integers(0, self.tokens.size - self.n_ctx - 1,
                                                                   size=self.batch_size)[self.share]
        windows = torch.from_numpy(np.stack([self.tokens[s:s + self.n_ctx + 1] for s in starts]).astype(np.int64))
        return windows[:, :-1], windows[:, 1:]


def validation_windows(tokens: TokenStream | np.ndarray, n_ctx: int, max_tokens: int) -> torch.Tensor:
    """The fixed held-out set: consecutive non-overlapping windows of ``n_ctx + 1`` from the start of the
    validation split, as many as fit in ``max_tokens`` (at least one)."""
    count = max(1, min(tokens.size // (n_ctx + 1), max_tokens // n_ctx))
    if tokens.size < n_ctx + 1:
        raise InputError(f"validation split has {tokens.size} tokens, fewer than one context of {n_ctx + 1}")
    return torch.from_numpy(np.asarray(tokens[:count * (n_ctx + 1)], dtype=np.int64).reshape(count, n_ctx + 1))
