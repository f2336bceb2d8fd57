"""Whether two corpus manifests (e.g. `make corpus` here and `--from-installed` on a GPU machine) describe
byte-identical corpora; if not, what differs: top-level fields, shards, and the sources whose token
counts differ. Exit 0 identical, 1 different, 2 unreadable.

    python3 experiments/corpus/compare_manifests.py experiments/corpus/manifest.json corpus/manifest.json
"""

import json
import sys
from pathlib import Path


def differences(a: dict, b: dict) -> list[str]:
    lines = [f"{key}: {a.get(key)!r:.80} != {b.get(key)!r:.80}" for key in sorted(set(a) | set(b))
             if key not in ("splits", "sources") and a.get(key) != b.get(key)]
    if a.get("sources") != b.get("sources"):
        lines.append("sources differ: " + ", ".join(sorted({s["package"] for s in a.get("sources", [])}
                                                         ^ {s["package"] for s in b.get("sources", [])}))[:500])
    for split in sorted(set(a.get("splits", {})) | set(b.get("splits", {}))):
        sa, sb = a.get("splits", {}).get(split, {}), b.get("splits", {}).get(split, {})
        shards = sum(x != y for x, y in zip(sa.get("shards", []), sb.get("shards", [])))
        if shards or len(sa.get("shards", [])) != len(sb.get("shards", [])):
            lines.append(f"{split}: {shards} shards differ ({len(sa.get('shards', []))} vs {len(sb.get('shards', []))})")
        la, lb = sa.get("tokens_by_label", {}), sb.get("tokens_by_label", {})
        lines += [f"{split} {label}: {la.get(label)} vs {lb.get(label)} tokens"
                  for label in sorted(set(la) | set(lb)) if la.get(label) != lb.get(label)][:40]
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        a, b = (json.loads(Path(p).read_text()) for p in argv)
    except (OSError, ValueError) as error:
        print(f"error: cannot read a manifest: {error}", file=sys.stderr)
        return 2
    lines = differences(a, b)
    print("identical corpora" if not lines else "\n".join(["DIFFERENT corpora:"] + lines))
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
