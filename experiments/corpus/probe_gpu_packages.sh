#!/bin/bash
# What the GPU image's system directories hold, for pinning them as corpus sources (#15): the Debian/Ubuntu
# packages that own /usr/include and the Python standard library, with versions and dpkg's md5sums.
# Run on a GPU machine from the repository root; writes $OUT/gpu_packages.tgz.
set -u
: "${OUT:?set OUT to the folder for the results}"
work=$(mktemp -d)
cat /etc/os-release > "$work/os-release"
python3 -c 'import sys, sysconfig; print(sys.version); print(sysconfig.get_paths()["stdlib"])' > "$work/python.txt"
dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\n' > "$work/dpkg-list.tsv"
stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
for dir in /usr/include "$stdlib"; do
  find "$dir" -type f -printf '%s\t%p\n'
done > "$work/files.tsv"
find /usr/include "$stdlib" -type f -print0 | xargs -0 dpkg -S 2> "$work/unowned.txt" | sort > "$work/owners.txt"
cut -d: -f1 "$work/owners.txt" | tr ',' '\n' | sed 's/ //g' | sort -u > "$work/owner-packages.txt"
mkdir "$work/md5sums"
while read -r pkg; do
  for f in /var/lib/dpkg/info/"$pkg".md5sums /var/lib/dpkg/info/"$pkg":amd64.md5sums; do
    test -f "$f" && cp "$f" "$work/md5sums/"
  done
done < "$work/owner-packages.txt"
du -sb /usr/include "$stdlib" > "$work/du.txt"
tar czf "$OUT/gpu_packages.tgz" -C "$work" .
wc -l "$work"/*.txt "$work"/*.tsv; cat "$work/du.txt"; head -3 "$work/os-release"
