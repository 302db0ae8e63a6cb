#!/usr/bin/env bash
# The SCIM gateway (`idflow serve`) under load from wrk (Debian's package), on loopback:
# requests per second for GET by filter (a random user's userName, the matching query Entra
# sends before every create) and for PATCH (replace one attribute of a random user), against a
# MemoryDirectory seeded with USERS users, with bearer-token auth and the per-request log on.
#
#   benches/gateway/run.sh                 # 10,000 users, 16 connections, 10 s per load
#   USERS=100000 CONNECTIONS=64 DURATION=30s benches/gateway/run.sh
#
# wrk and the server share this machine's cores, so the figure is the pair's, not the server's
# alone. Installs wrk with apt-get when it is missing (needs root).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

USERS=${USERS:-10000}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
DURATION=${DURATION:-10s}
TOKEN=bench-token

if ! command -v wrk > /dev/null; then
    apt-get install -y wrk > /dev/null 2>&1 || { apt-get update > /dev/null && apt-get install -y wrk > /dev/null; }
fi

cargo build --release -q -p idflow-examples --bin idflow
target_dir="$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
idflow="$target_dir/release/idflow"

work="$(mktemp -d)"
trap 'kill "${server:-0}" 2> /dev/null || true; rm -rf "$work"' EXIT

python3 - "$USERS" > "$work/users.json" <<'PY'
import json, sys
n = int(sys.argv[1])
ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
users = [{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ent],
    "id": f"u{i}", "externalId": f"E{i:07d}", "userName": f"user{i}@example.com",
    "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
    "displayName": f"Given{i} Family{i}", "title": "Engineer", "active": True,
    "emails": [{"type": "work", "value": f"user{i}@example.com", "primary": True}],
    ent: {"employeeNumber": str(i), "department": ["Sales", "Engineering", "Support"][i % 3]},
} for i in range(n)]
json.dump(users, sys.stdout)
PY

"$idflow" serve --listen 127.0.0.1:0 --token "$TOKEN" --data "$work/users.json" 2> "$work/serve.log" &
server=$!
base=""
for _ in $(seq 1 100); do
    base="$(grep -o 'http://127.0.0.1:[0-9]*/scim/v2' "$work/serve.log" | head -1 || true)"
    [ -n "$base" ] && break
    sleep 0.1
done
[ -n "$base" ] || { echo "idflow serve did not start:"; cat "$work/serve.log"; exit 1; }
hostport="${base%/scim/v2}"

cat > "$work/get.lua" <<LUA
math.randomseed(7)
wrk.headers["Authorization"] = "Bearer $TOKEN"
request = function()
  local i = math.random(0, $USERS - 1)
  return wrk.format("GET", "/scim/v2/Users?filter=userName%20eq%20%22user" .. i .. "%40example.com%22")
end
LUA
cat > "$work/patch.lua" <<LUA
math.randomseed(11)
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Content-Type"] = "application/scim+json"
local n = 0
request = function()
  local i = math.random(0, $USERS - 1)
  n = n + 1
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Title ' .. n .. '"}]}'
  return wrk.format("PATCH", "/scim/v2/Users/u" .. i, nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("non-2xx or errors: %d\n", summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

# Both loads must be answered with 2xx before measuring.
curl -fsS -H "Authorization: Bearer $TOKEN" "$base/Users?filter=userName%20eq%20%22user1%40example.com%22" \
    | python3 -c 'import json,sys; n=json.load(sys.stdin)["totalResults"]; sys.exit(0 if n == 1 else f"GET by filter found {n}")'
curl -fsS -o /dev/null -X PATCH -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/scim+json" \
    -d '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}' \
    "$base/Users/u1"

echo "== idflow serve, $USERS users, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "-- GET /scim/v2/Users?filter=userName eq \"userN@example.com\""
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/get.lua" "$hostport" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|errors"
echo "-- PATCH /scim/v2/Users/{id} (replace title)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$work/patch.lua" "$hostport" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|errors"
