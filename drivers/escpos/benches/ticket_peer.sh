#!/usr/bin/env bash
# The peer side of benches/ticket.rs: python-escpos + Pillow drawing the same queue ticket.
# Installs them into a virtualenv under target/ on first use (PyPI), then runs ticket_peer.py.
set -euo pipefail
cd "$(dirname "$0")/../../.."
venv=target/bench-python-escpos
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet python-escpos==3.1 pillow qrcode
fi
"$venv/bin/python" drivers/escpos/benches/ticket_peer.py "$PWD/assets/fonts"
