#!/usr/bin/env bash
# validate.sh - source checks that the compiler does not make (run by scripts/test.sh):
#  - time and randomness are injected: no Date(), .random(...) outside Sources/GatehouseCore/Support
#    (WallClock, RandomSource) and test support, so expiry and token logic stay testable;
#  - the default route table embedded in the binary matches routes/matrix.routes;
#  - examples/workers/synapse-workers.routes is what scripts/generate-worker-routes.py makes;
#  - nothing refers to files outside the repository.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0

hits=$(grep -rnE 'Date\(\)|\.random\(|UInt8\.random|Int\.random' Sources --include='*.swift' \
  | grep -vE '^Sources/(GatehouseCore/Support|GatehouseTesting)/' \
  | grep -vE 'now: Date = Date\(\)' || true)
if [ -n "$hits" ]; then
  echo "validate: inject WallClock / RandomSource instead of reading time or randomness directly:" >&2
  echo "$hits" >&2
  status=1
fi

tmp=$(mktemp)
python3 - "$tmp" <<'PY'
import pathlib, re, sys
text = pathlib.Path("Sources/GatehouseCore/Routing/DefaultRoutes.swift").read_text()
embedded = re.search(r'#"""\n(.*)\n"""#', text, re.S).group(1)
pathlib.Path(sys.argv[1]).write_text(embedded)
PY
if ! cmp -s "$tmp" routes/matrix.routes; then
  echo "validate: routes/matrix.routes and DefaultRoutes.swift differ; run scripts/update-default-routes.py" >&2
  status=1
fi
rm -f "$tmp"

if ! scripts/generate-worker-routes.py --check; then
  status=1
fi

# The development workspace's folders; spelled in pieces so this check does not match itself.
outside='\.\./shar''ed|/wor''k/'
if git grep -nIE "$outside" -- ':!*.md' >/dev/null 2>&1; then
  echo "validate: references outside the repository:" >&2
  git grep -nIE "$outside" -- ':!*.md' >&2
  status=1
fi

[ "$status" = 0 ] && echo "validate: OK" >&2
exit "$status"
