#!/usr/bin/env bash
# Live-capture load test: replay a capture with tcpreplay into a veth pair inside
# a network namespace this script creates (no traffic leaves it), sniff the other
# end with `mywire live`, and report frames seen, kernel drops and CPU. With no
# drops, the live analysis must equal the offline one.
#
#   tests/live/load_test.sh FILE.pcap [RATES...]     (run as root)
#   RATES: tcpreplay --mbps values, or "topspeed" (default: topspeed 4000 2000 1000)
set -euo pipefail
file=${1:?usage: load_test.sh FILE.pcap [RATES...]}
shift
rates=("$@")
((${#rates[@]})) || rates=(topspeed 4000 2000 1000)
cd "$(dirname "$0")/../.."
bin=$(pwd)/target/release/mywire
ns="mywire-load-$$"
tmp=$(mktemp -d)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link add va type veth peer name vb
for i in va vb; do ip -n "$ns" link set "$i" mtu 65535 up; done
frames=$(capinfos -c -M "$file" | awk -F': *' '/Number of packets/ {print $2}')
"$bin" analyze --format json "$file" > "$tmp/offline.json"
summary() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["summary"]; print(s["connections"], s["commands"], s["errors"], s["findings"]["critical"], s["findings"]["warning"])' "$1"; }
offline=$(summary "$tmp/offline.json")
echo "file: $file ($frames frames); offline: connections commands errors critical warning = $offline"
echo "| replay rate | frames seen | kernel / interface drops (pcap) | veth rx drops (cumulative) | mywire CPU | live = offline |"
echo "|---|---|---|---|---|---|"
best=""
for r in "${rates[@]}"; do
  arg=(--mbps="$r"); [ "$r" = topspeed ] && arg=(--topspeed)
  ip netns exec "$ns" /usr/bin/time -f '%U %S' -o "$tmp/cpu" "$bin" live -i vb --bpf tcp --no-drop --format json \
      -o "$tmp/live.json" --count "$frames" --duration 20 --buffer-size 256M 2>"$tmp/live.err" &
  pid=$!
  sleep 1
  ip netns exec "$ns" tcpreplay -q -i va "${arg[@]}" "$file" >"$tmp/replay.out" 2>&1 || { cat "$tmp/replay.out"; exit 1; }
  wait "$pid" || { cat "$tmp/live.err"; exit 1; }
  seen=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); st=d["summary"]["capture"]["live"]["stats"]; print(d["inputs"][0]["frames"], st["dropped_kernel"], st["dropped_interface"])' "$tmp/live.json")
  read -r got drops ifdrops <<<"$seen"
  vdrop=$(ip -n "$ns" -s link show vb | awk '/RX:/ {getline; print $4}')
  read -r u s <"$tmp/cpu"
  live=$(summary "$tmp/live.json")
  same="-"
  if [ "$drops" = 0 ] && [ "$got" = "$frames" ]; then
    if [ "$live" = "$offline" ]; then same=yes; [ -z "$best" ] && best=$r; else same="NO ($live)"; fi
  fi
  actual=$(grep -oE 'Rated: [0-9.]+ Bps, [0-9.]+ Mbps' "$tmp/replay.out" | head -1)
  echo "| $r (${actual:-?}) | $got / $frames | $drops / $ifdrops | ${vdrop:-?} | ${u}s user + ${s}s sys | $same |"
  if [[ "$same" == NO* ]]; then echo "load_test: FAIL: live analysis differs from offline with no drops"; exit 1; fi
done
echo "highest rate with zero drops: ${best:-none of the rates tried}"

# the interface goes away mid-capture: clean stop, report written, exit 0
ip netns exec "$ns" "$bin" live -i vb --bpf tcp --no-drop --format json -o "$tmp/gone.json" --duration 30 2>"$tmp/gone.err" &
pid=$!
sleep 1.5
ip -n "$ns" link del va
wait "$pid" || { echo "load_test: FAIL: exit $? when the interface disappeared"; cat "$tmp/gone.err"; exit 1; }
grep -q "interface disappeared" "$tmp/gone.json" || { echo "load_test: FAIL: no warning in the report"; exit 1; }
echo "interface removed mid-capture: clean stop, report written"
echo "load_test: 2 passed, 0 failed"
