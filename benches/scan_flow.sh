#!/usr/bin/env bash
# Side-by-side scanning flow (issue 3): a 10-page ADF batch, colour, 300 dpi, A4, from SANE's own
# `test` backend to a finished PDF.
#
#   peer:  scanimage --batch --format=jpeg  +  img2pdf
#   ours:  POST /v1/scans → `scan.state` completed on the event stream → GET /v1/scans/{id}/document
#          (release agent)
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
# One peer run per call, timed inside (it prints its wall time); the client below alternates peer
# and agent runs, so a slower minute on this machine weighs on both sides alike.
cat >"$work/peer.sh" <<'EOF'
set -euo pipefail
dir="$1"
mkdir -p "$dir"
start=$(date +%s.%N)
scanimage -d test:0 --source "Automatic Document Feeder" --mode Color --resolution 300 \
  --test-picture "$PICTURE" --batch="$dir/p%02d.jpg" --format=jpeg 2>/dev/null
img2pdf "$dir"/p*.jpg -o "$dir/out.pdf"
end=$(date +%s.%N)
python3 -c "print($end - $start)"
EOF
export PICTURE

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

# One client process for the whole flow, following the event stream as the web app does (polling, or
# a process per request, would measure the client and take CPU from the agent). Python's standard
# library has no WebSocket client: the few lines below speak enough RFC 6455 for text frames.
times=$(PORT=$PORT ORIGIN=$ORIGIN TOKEN=$token RUNS=$RUNS OUT="$work" python3 - <<'EOF'
import base64, json, os, socket, struct, subprocess, time, urllib.request
port = int(os.environ["PORT"])
base = f"http://127.0.0.1:{port}"
headers = {"Origin": os.environ["ORIGIN"], "Authorization": "Bearer " + os.environ["TOKEN"]}
def call(path, body=None, method=None):
    extra = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(base + path, data=body, headers={**headers, **extra}, method=method)
    with urllib.request.urlopen(request) as response:
        return response.read()

ticket = json.loads(call("/v1/events/ticket", b"{}"))["ticket"]
stream = socket.create_connection(("127.0.0.1", port))
key = base64.b64encode(os.urandom(16)).decode()
stream.sendall((f"GET /v1/events?ticket={ticket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Origin: {os.environ['ORIGIN']}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
buffered = b""
while b"\r\n\r\n" not in buffered:
    buffered += stream.recv(4096)
head, buffered = buffered.split(b"\r\n\r\n", 1)
if b" 101 " not in head.split(b"\r\n")[0]:
    raise SystemExit(f"event stream refused: {head!r}")
def take(n):
    global buffered
    while len(buffered) < n:
        chunk = stream.recv(65536)
        if not chunk:
            raise SystemExit("event stream closed")
        buffered += chunk
    out, buffered = buffered[:n], buffered[n:]
    return out
def next_event():
    while True:
        first, second = take(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", take(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", take(8))[0]
        payload = take(length)
        if first & 0x0F == 1:  # a text frame is one event
            return json.loads(payload)

times, peer_times = [], []
for run in range(1, int(os.environ["RUNS"]) + 1):
    peer = subprocess.run(["bash", os.environ["OUT"] + "/peer.sh", f"{os.environ['OUT']}/peer-{run}"],
                          check=True, capture_output=True, text=True)
    peer_times.append(float(peer.stdout))
    start = time.monotonic()
    request = {"device": "scanner", "source": "adf", "color": "auto", "dpi": 300}
    scan = json.loads(call("/v1/scans", json.dumps(request).encode()))
    while True:
        event = next_event()
        data = event.get("data", {})
        if event.get("type") == "scan.state" and data.get("scan_id") == scan["id"] and data["state"] != "scanning":
            break
    if data["state"] != "completed":
        raise SystemExit(f"scan ended {data['state']}: {data}")
    document = call(f"/v1/scans/{scan['id']}/document")
    times.append(time.monotonic() - start)
    with open(f"{os.environ['OUT']}/ours-{run}.pdf", "wb") as out:
        out.write(document)
    call("/v1/scans/" + scan["id"], method="DELETE")
print(" ".join(f"{t:.3f}" for t in peer_times))
print(" ".join(f"{t:.3f}" for t in times))
EOF
)
read -r -a peer_times <<<"$(sed -n 1p <<<"$times")"
read -r -a our_times <<<"$(sed -n 2p <<<"$times")"
peer_size=$(stat -c %s "$work/peer-$RUNS/out.pdf")
peer_pages=$(pdfinfo "$work/peer-$RUNS/out.pdf" | awk '/^Pages:/ {print $2}')
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
