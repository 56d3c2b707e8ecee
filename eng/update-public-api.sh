#!/usr/bin/env bash
# Records public API changes: builds each package, takes the RS0016 (new symbol) and RS0017
# (removed symbol) diagnostics of Microsoft.CodeAnalysis.PublicApiAnalyzers, and updates that
# package's PublicAPI.Unshipped.txt so the change shows up as a reviewable diff.
# Usage: eng/update-public-api.sh [src/Package ...]
set -euo pipefail
cd "$(dirname "$0")/.."
projects=("$@")
[ ${#projects[@]} -gt 0 ] || projects=(src/*/)
for dir in "${projects[@]}"; do
  dir=${dir%/}
  file="$dir/PublicAPI.Unshipped.txt"
  [ -f "$file" ] || continue
  for _ in 1 2 3; do
    out=$(dotnet build "$dir" --no-incremental -p:TreatWarningsAsErrors=false 2>&1 || true)
    added=$(grep -oE "RS0016: Symbol '.*' is not part of the declared public API" <<<"$out" \
      | sed -E "s/^RS0016: Symbol '(.*)' is not part of the declared public API$/\1/" | sort -u || true)
    removed=$(grep -oE "RS0017: Symbol '.*' is part of the declared API, but is either not public or could not be found" <<<"$out" \
      | sed -E "s/^RS0017: Symbol '(.*)' is part of the declared API.*/\1/" | sort -u || true)
    [ -n "$added$removed" ] || break
    { grep -v '^#nullable' "$file" || true; printf '%s\n' "$added"; } | grep -v '^$' \
      | { if [ -n "$removed" ]; then grep -vxF -f <(printf '%s\n' "$removed"); else cat; fi; } \
      | LC_ALL=C sort -u > "$file.tmp"
    { echo '#nullable enable'; cat "$file.tmp"; } > "$file"; rm -f "$file.tmp"
  done
  echo "$file: $(($(wc -l < "$file") - 1)) symbols"
done
