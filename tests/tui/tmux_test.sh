#!/usr/bin/env bash
# End-to-end TUI test, as a person would use it: mywire tui in tmux, keys sent
# with send-keys, the screen read with capture-pane after each step.
#   tests/tui/tmux_test.sh [path/to/mywire]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-./target/release/mywire}
sock="mywire-tui-$$"
t() { tmux -L "$sock" "$@"; }
trap 't kill-server 2>/dev/null || true' EXIT
pass=0
screen() { t capture-pane -p -t ui; }
expect() { # text, what
  local s; s=$(screen)
  if ! grep -qF -- "$1" <<<"$s"; then echo "tmux_test: FAIL: $2: expected '$1' on screen:"; echo "$s"; exit 1; fi
  pass=$((pass + 1))
}
key() { t send-keys -t ui "$@"; sleep 0.4; }

t new-session -d -s ui -x 80 -y 24 "$bin tui captures/gone-away.pcap; echo MYWIRE-EXITED rc=\$?; sleep 60"
sleep 1.5
expect "CRITICAL" "overview verdict"
expect "max_allowed_packet" "overview limit"
expect "packet sizes" "histogram"
key 3;      expect "oversize_packet" "incidents view"
key Enter;  expect "ERR 1153" "incident evidence"
key Escape; key 2; expect "server_error_close" "connections view"
key /; t send-keys -t ui -l "err:1153"; sleep 0.4; expect "/err:1153" "filter line"
key Enter; key Enter; expect "INSERT INTO docs" "connection timeline"
key Escape; key Escape; key /; t send-keys -t ui -l "port:x"; sleep 0.4; expect "port: needs a port number" "filter validation"
key Escape; key '?'; expect "switch view" "help overlay"
key q;      key 4; expect "statements" "statements view"
key q
sleep 0.5
expect "MYWIRE-EXITED rc=0" "clean exit"
# the terminal is restored: the alternate screen is gone and the cursor is visible
if screen | grep -q "1 Overview"; then echo "tmux_test: FAIL: TUI still on screen after q"; exit 1; fi
pass=$((pass + 1))
[ "$(t display-message -p -t ui '#{alternate_on}')" = 0 ] || { echo "tmux_test: FAIL: alternate screen left on"; exit 1; }
pass=$((pass + 1))
# the terminal goes away (tmux killed): SIGHUP ends mywire, no spinning orphan
t new-session -d -s hup -x 80 -y 24 "$bin tui captures/basic.pcap"
sleep 1.5
pid=$(pgrep -f "tui captures/basic.pcap" | tail -1)
t kill-session -t hup
for _ in 1 2 3 4 5 6; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$pid" 2>/dev/null; then echo "tmux_test: FAIL: mywire still running after its terminal hung up"; kill -9 "$pid"; exit 1; fi
pass=$((pass + 1))
echo "tmux_test: ${pass} passed, 0 failed"
