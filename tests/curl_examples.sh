#!/usr/bin/env bash
# Reproduces, with curl, every example of the SynapseStream auth guide
# (shared/spec/synapsestream-auth-guide.md) against the reference server
# started as a process, and checks the answers. Prints "N passed, M failed"
# and exits non-zero on any failure.
#
# Needs: the built binary (cargo build -p synapse-auth-cli), curl, python3.
# SYNAPSE_AUTH_BIN overrides the binary path.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${SYNAPSE_AUTH_BIN:-$ROOT/target/debug/synapse-auth}"
if [ ! -x "$BIN" ]; then
    echo "missing $BIN: run 'cargo build -p synapse-auth-cli' first" >&2
    exit 2
fi
for tool in curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 2; }
done

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    # Closing the server's stdin makes it exit (--exit-on-stdin-close).
    exec 7>&- 2>/dev/null || true
    if [ -n "$SERVER_PID" ]; then
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server did not exit on stdin close; terminating it" >&2
            kill "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Start the server with its stdin on a FIFO we hold open.
mkfifo "$WORK/stdin"
"$BIN" serve --json --addr 127.0.0.1:0 --exit-on-stdin-close \
    <"$WORK/stdin" >"$WORK/stdout" 2>"$WORK/server.log" &
SERVER_PID=$!
exec 7>"$WORK/stdin"

for _ in $(seq 1 300); do
    if grep -q '}' "$WORK/stdout" 2>/dev/null; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.1
done
INFO="$(head -n 1 "$WORK/stdout")"
if [ -z "$INFO" ]; then
    echo "the server printed no JSON line; its log:" >&2
    cat "$WORK/server.log" >&2
    exit 1
fi

# jget JSON PYTHON-EXPR: evaluates EXPR with the parsed JSON as `d`.
jget() {
    python3 -c 'import json, sys; d = json.loads(sys.argv[1]); v = eval(sys.argv[2]); print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1" "$2" 2>/dev/null
}

BASE="$(jget "$INFO" 'd["base_url"]')"
CA="$(jget "$INFO" 'd["ca_pem_path"]')"
ADMIN="$(jget "$INFO" 'd["admin_token"]')"
CLIENT_ID="$(jget "$INFO" 'd["clients"][0]["client_id"]')"
CLIENT_SECRET="$(jget "$INFO" 'd["clients"][0]["client_secret"]')"
API_KEY="$(jget "$INFO" '[k for k in d["api_keys"] if "training" in k["scopes"]][0]["key"]')"
INFERENCE_KEY="$(jget "$INFO" '[k for k in d["api_keys"] if "training" not in k["scopes"]][0]["key"]')"
echo "server: $BASE (CA $CA)"

PASS=0
FAIL=0
check() {
    local name="$1"
    shift
    if "$@"; then
        PASS=$((PASS + 1))
        echo "ok   - $name"
    else
        FAIL=$((FAIL + 1))
        echo "FAIL - $name"
    fi
}

# call NAME CURL-ARGS...: runs curl, keeping status, headers and body under NAME.
call() {
    local name="$1"
    shift
    if ! curl -sS --cacert "$CA" -D "$WORK/$name.headers" -o "$WORK/$name.body" \
        -w '%{http_code}' "$@" >"$WORK/$name.status" 2>"$WORK/$name.err"; then
        echo 000 >"$WORK/$name.status"
    fi
}
status() { cat "$WORK/$1.status"; }
body() { cat "$WORK/$1.body"; }
header() { grep -i "^$2:" "$WORK/$1.headers" | tail -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }
field() { jget "$(body "$1")" "d$2"; }
is() { [ "$1" = "$2" ] || { echo "     expected [$2], got [$1]" >&2; return 1; }; }

# --- Guide 2.2: requesting an access token (client credentials flow) -------
call token -X POST "$BASE/oauth2/token" \
    -H "Content-Type: application/x-www-form-urlencoded" \
    -d "grant_type=client_credentials" \
    -d "client_id=$CLIENT_ID" \
    -d "client_secret=$CLIENT_SECRET" \
    -d "scope=inference%20training"
check "2.2 token request answers 200" is "$(status token)" 200
# --- Guide 2.3: the token response --------------------------------------------
check "2.3 token_type is Bearer" is "$(field token '["token_type"]')" Bearer
check "2.3 expires_in is 3600" is "$(field token '["expires_in"]')" 3600
check "2.3 scope is 'inference training'" is "$(field token '["scope"]')" "inference training"
check "2.3 access_token is a JWT" is "$(field token '["access_token"].count(".")')" 2
check "2.3 JWT header alg RS256" is "$(jget "$(body token)" 'json.loads(__import__("base64").urlsafe_b64decode(d["access_token"].split(".")[0] + "=="))["alg"]')" RS256
check "2.3 response is not cacheable" is "$(header token cache-control)" no-store
ACCESS="$(field token '["access_token"]')"
REFRESH="$(field token '["refresh_token"]')"
check "2.3 a refresh token is issued" test -n "$REFRESH"

# --- Guide 2.4: using access tokens ------------------------------------------
call models -X GET "$BASE/v1/models" -H "Authorization: Bearer $ACCESS"
check "2.4 bearer call to /v1/models answers 200" is "$(status models)" 200
check "2.4 /v1/models lists models" test "$(field models '["data"].__len__()')" -ge 1

# --- Guide 3.2: using API keys -----------------------------------------------
call stream -X POST "$BASE/v1/data/stream" \
    -H "X-API-Key: $API_KEY" \
    -H "Content-Type: application/json" \
    -d '{"stream_id": "nn-435X", "data": [0.12, 0.5, 0.99]}'
check "3.2 API-key call to /v1/data/stream answers 202" is "$(status stream)" 202
check "3.2 stream_id echoed" is "$(field stream '["stream_id"]')" nn-435X
check "3.2 all data items accepted" is "$(field stream '["accepted"]')" 3

# --- Guide 4.1 / 4.2: refresh, with rotation ---------------------------------
call refresh -X POST "$BASE/oauth2/token" \
    -H "Content-Type: application/x-www-form-urlencoded" \
    -d "grant_type=refresh_token" \
    -d "client_id=$CLIENT_ID" \
    -d "client_secret=$CLIENT_SECRET" \
    -d "refresh_token=$REFRESH"
check "4.1 refresh request answers 200" is "$(status refresh)" 200
check "4.2 token_type is Bearer" is "$(field refresh '["token_type"]')" Bearer
check "4.2 expires_in is 3600" is "$(field refresh '["expires_in"]')" 3600
NEW_ACCESS="$(field refresh '["access_token"]')"
NEW_REFRESH="$(field refresh '["refresh_token"]')"
check "4.2 a new access token" test -n "$NEW_ACCESS" -a "$NEW_ACCESS" != "$ACCESS"
check "4.2 a new (rotated) refresh token" test -n "$NEW_REFRESH" -a "$NEW_REFRESH" != "$REFRESH"
call models2 "$BASE/v1/models" -H "Authorization: Bearer $NEW_ACCESS"
check "4.2 the refreshed access token works" is "$(status models2)" 200
call reuse -X POST "$BASE/oauth2/token" \
    -H "Content-Type: application/x-www-form-urlencoded" \
    -d "grant_type=refresh_token" \
    -d "client_id=$CLIENT_ID" \
    -d "client_secret=$CLIENT_SECRET" \
    -d "refresh_token=$REFRESH"
check "4.1 the old refresh token is rejected (400)" is "$(status reuse)" 400
check "4.1 ... with invalid_grant" is "$(field reuse '["error"]')" invalid_grant
call reuse2 -X POST "$BASE/oauth2/token" \
    -H "Content-Type: application/x-www-form-urlencoded" \
    -d "grant_type=refresh_token" \
    -d "client_id=$CLIENT_ID" \
    -d "client_secret=$CLIENT_SECRET" \
    -d "refresh_token=$NEW_REFRESH"
check "4.1 reuse revoked the whole token family" is "$(status reuse2)" 400

# --- Guide 1 and 5: error codes ------------------------------------------------
call noauth "$BASE/v1/models"
check "1 unauthenticated request answers 401" is "$(status noauth)" 401
check "5 401 error code is invalid_credentials" is "$(field noauth '["error"]')" invalid_credentials
call badsecret -X POST "$BASE/oauth2/token" \
    -H "Content-Type: application/x-www-form-urlencoded" \
    -d "grant_type=client_credentials" -d "client_id=$CLIENT_ID" -d "client_secret=wrong"
check "5 401 for a wrong client secret" is "$(status badsecret)" 401
call scope -X POST "$BASE/v1/data/stream" -H "X-API-Key: $INFERENCE_KEY" \
    -H "Content-Type: application/json" -d '{"stream_id": "nn-435X", "data": []}'
check "5 403 for insufficient scope" is "$(status scope)" 403
check "5 403 names the needed scope" is "$(header scope www-authenticate)" 'Bearer error="insufficient_scope", scope="training"'
call expire -X POST "$BASE/admin/expire-tokens" -H "X-Admin-Token: $ADMIN"
call expired "$BASE/v1/models" -H "Authorization: Bearer $NEW_ACCESS"
check "5 418 for an expired token" is "$(status expired)" 418
check "5 418 error code is token_expired" is "$(field expired '["error"]')" token_expired
call fault -X POST "$BASE/admin/faults" -H "X-Admin-Token: $ADMIN" \
    -H "Content-Type: application/json" -d '{"target": "api", "rate_limit_next": 1, "retry_after": 2}'
call limited "$BASE/v1/models" -H "X-API-Key: $API_KEY"
check "5 429 when rate limited" is "$(status limited)" 429
check "5 429 carries Retry-After" is "$(header limited retry-after)" 2

# --- Guide 6: JWKS -------------------------------------------------------------
call jwks "$BASE/.well-known/jwks.json"
check "6 JWKS answers 200" is "$(status jwks)" 200
KID="$(jget "$(body token)" 'json.loads(__import__("base64").urlsafe_b64decode(d["access_token"].split(".")[0] + "=="))["kid"]')"
check "6 JWKS publishes the token's key" is "$(field jwks "[\"keys\"][0][\"kid\"]")" "$KID"

# --- Counters saw every token request ------------------------------------------
call counters "$BASE/admin/counters" -H "X-Admin-Token: $ADMIN"
check "admin counters: 5 token requests" is "$(field counters '["token_requests"]["total"]')" 5

echo
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
