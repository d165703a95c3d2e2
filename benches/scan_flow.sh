#!/usr/bin/env bash
# Side-by-side scanning flow (issue 3): a 10-page ADF batch, colour, 300 dpi, A4, from SANE's own
# `test` backend to a finished PDF.
#
#   peer:  scanimage --batch --format=jpeg  +  img2pdf
#   ours:  POST /v1/scans → wait for `completed` → GET /v1/scans/{id}/document (release agent)
#
# Prints wall times (median of RUNS), PDF sizes, the ratios, and the agent's peak resident memory.
#
#   bash benches/scan_flow.sh                 # Grid pages (black lines on white: text-like)
#   PICTURE="Color pattern" bash benches/scan_flow.sh
#   RUNS=5 bash benches/scan_flow.sh
#
# Needs: scanimage (sane-utils), img2pdf, python3, curl; `bash .ci/test` installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
PICTURE=${PICTURE:-Grid}
PORT=${PORT:-7491}
ORIGIN="http://bench.invalid"
export SANE_CONFIG_DIR="$PWD/drivers/sane/tests/sane-config"

for tool in scanimage img2pdf python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (run bash .ci/test once to install the peers)" >&2; exit 1; }
done

cargo build --release --quiet
bin="$PWD/target/release/counter-agent"
work=$(mktemp -d)
agent_pid=""
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
median() { python3 -c 'import sys, statistics; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"; }

# --- peer -------------------------------------------------------------------------------------
peer_times=()
for run in $(seq "$RUNS"); do
  dir="$work/peer-$run"
  mkdir -p "$dir"
  start=$(now)
  scanimage -d test:0 --source "Automatic Document Feeder" --mode Color --resolution 300 \
    --test-picture "$PICTURE" --batch="$dir/p%02d.jpg" --format=jpeg 2>/dev/null
  img2pdf "$dir"/p*.jpg -o "$dir/out.pdf"
  end=$(now)
  peer_times+=("$(python3 -c "print($end - $start)")")
  peer_size=$(stat -c %s "$dir/out.pdf")
  peer_pages=$(pdfinfo "$dir/out.pdf" | awk '/^Pages:/ {print $2}')
done

# --- ours -------------------------------------------------------------------------------------
mkdir -p "$work/data"
cat >"$work/station.toml" <<EOF
[station]
name = "Bench"
counter = 1
[server]
listen = "127.0.0.1:$PORT"
allowed_origins = ["$ORIGIN"]
[storage]
data_dir = "$work/data"
[[device]]
id = "scanner"
profile = "sane-generic"
connection = "sane:test:0"
EOF
# The test backend draws a solid black page unless told otherwise; the worker's test script (a
# documented test hook) picks the same picture the peer scans.
echo "open set test-picture=$PICTURE" >"$work/sane-script"
export COUNTER_AGENT_SANE_SCRIPT="$work/sane-script"

token=$("$bin" token create --config "$work/station.toml" --origin "$ORIGIN" --scopes scan 2>/dev/null)
"$bin" serve --config "$work/station.toml" 2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/v1/health" >/dev/null && break
  sleep 0.05
done

# One client process for the whole flow (a process per poll would measure the client, not the agent).
our_times=$(PORT=$PORT ORIGIN=$ORIGIN TOKEN=$token RUNS=$RUNS OUT="$work" python3 - <<'EOF'
import json, os, time, urllib.request
base = f"http://127.0.0.1:{os.environ['PORT']}"
headers = {"Origin": os.environ["ORIGIN"], "Authorization": "Bearer " + os.environ["TOKEN"]}
def call(path, body=None, method=None):
    extra = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(base + path, data=body, headers={**headers, **extra}, method=method)
    with urllib.request.urlopen(request) as response:
        return response.read()
times = []
for run in range(1, int(os.environ["RUNS"]) + 1):
    start = time.monotonic()
    request = {"device": "scanner", "source": "adf", "color": "auto", "dpi": 300}
    scan = json.loads(call("/v1/scans", json.dumps(request).encode()))
    while scan["state"] == "scanning":
        time.sleep(0.01)
        scan = json.loads(call("/v1/scans/" + scan["id"]))
    if scan["state"] != "completed":
        raise SystemExit(f"scan ended {scan['state']}: {scan}")
    document = call(f"/v1/scans/{scan['id']}/document")
    times.append(time.monotonic() - start)
    with open(f"{os.environ['OUT']}/ours-{run}.pdf", "wb") as out:
        out.write(document)
    call("/v1/scans/" + scan["id"], method="DELETE")
print(" ".join(f"{t:.3f}" for t in times))
EOF
)
read -r -a our_times <<<"$our_times"
our_size=$(stat -c %s "$work/ours-$RUNS.pdf")
our_pages=$(pdfinfo "$work/ours-$RUNS.pdf" | awk '/^Pages:/ {print $2}')
peak_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$agent_pid/status")

peer_median=$(median "${peer_times[@]}")
our_median=$(median "${our_times[@]}")
echo "picture: $PICTURE, runs: $RUNS (median wall time)"
printf '%-34s %8s s  %10s bytes  %s pages\n' "scanimage --batch + img2pdf" "$peer_median" "$peer_size" "$peer_pages"
printf '%-34s %8s s  %10s bytes  %s pages\n' "counter-agent (API → PDF)" "$our_median" "$our_size" "$our_pages"
python3 - "$peer_median" "$our_median" "$peer_size" "$our_size" <<'EOF'
import sys
peer_t, our_t, peer_b, our_b = map(float, sys.argv[1:])
print(f"time ratio ours/peer: {our_t / peer_t:.2f} (target ≤ 1.00)")
print(f"size ratio ours/peer: {our_b / peer_b:.3f} (target ≤ 0.200 for text-like pages)")
EOF
echo "agent peak resident memory: $((peak_kb / 1024)) MB (target ≤ 200 MB)"
