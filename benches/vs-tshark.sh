#!/usr/bin/env bash
# Whole-pipeline comparison on one capture file: mywire analyze vs tshark (MySQL
# fields) vs the tcpdump record-copy floor, several runs each, file in page cache.
# Prints wall time (median), MB/s, frames/s, peak RSS, the ratio to tshark and
# to the record-copy floor. The pipe row's RSS is the largest process in it.
#
#   benches/vs-tshark.sh FILE [RUNS]      (default 3 runs; tshark runs once if slow)
#   captures/record --bulk 500 --out /tmp && benches/vs-tshark.sh /tmp/bulk.pcap
set -euo pipefail
file=${1:?usage: benches/vs-tshark.sh FILE [RUNS]}
runs=${2:-3}
cd "$(dirname "$0")/.."
cargo build --release -q
mywire=./target/release/mywire
bytes=$(stat -c %s "$file")
frames=$(capinfos -c -M "$file" 2>/dev/null | awk -F': *' '/Number of packets/ {print $2}')
cat "$file" > /dev/null   # warm the page cache

# median wall seconds and max peak RSS (KiB) of a command over N runs
measure() {
  local n=$1; shift
  local walls=() rss=0
  for _ in $(seq "$n"); do
    /usr/bin/time -f '%e %M' -o /tmp/mywire-bench.time "$@" > /dev/null 2>/dev/null || true
    read -r w m < /tmp/mywire-bench.time
    walls+=("$w"); (( m > rss )) && rss=$m
  done
  local med
  med=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$med $rss"
}

row() { # name wall rss [tshark wall]
  name="$1" awk -v w="$2" -v r="$3" -v b="$bytes" -v f="$frames" -v t="${4:-}" -v fl="$td_w" 'BEGIN {
    n = ENVIRON["name"]
    if (w < 0.001) w = 0.001
    ratio = (t != "" ? sprintf("%.0fx", t / w) : "-")
    floor = (t != "" ? sprintf("%.2fx", w / fl) : "-")
    printf "| %-46s | %7.2f s | %8.1f MB/s | %9.0f frames/s | %7.1f MB | %7s | %6s |\n", n, w, b / w / 1e6, f / w, r / 1024, ratio, floor }'
}

echo "file: $file ($(numfmt --to=si "$bytes")B, $frames frames)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "versions: $($mywire --version), $(tshark --version 2>/dev/null | head -1), $(tcpdump --version 2>&1 | head -1)"
echo
q=$(printf '%q' "$file")
read -r cat_w cat_r < <(measure "$runs" cat "$file")
read -r td_w td_r < <(measure "$runs" tcpdump -r "$file" -w /dev/null)
read -r pc_w pc_r < <(measure "$runs" sh -c "tcpdump -r $q -w - 2>/dev/null | cat > /dev/null")
read -r my_w my_r < <(measure "$runs" "$mywire" analyze "$file")
read -r my1_w my1_r < <(measure "$runs" "$mywire" analyze -j1 "$file")
read -r myj_w myj_r < <(measure "$runs" "$mywire" analyze --format json "$file")
read -r myn_w myn_r < <(measure "$runs" "$mywire" analyze --format ndjson "$file")
read -r myp_w myp_r < <(measure "$runs" sh -c "tcpdump -r $q -w - 2>/dev/null | $mywire analyze - > /dev/null")
truns=$runs; (( bytes > 200000000 )) && truns=1
read -r ts_w ts_r < <(measure "$truns" tshark -r "$file" -Y mysql -T fields -e mysql.command -e mysql.query -e mysql.error_code)
echo "| tool (same cached file) | wall (median of $runs) | throughput | frames | peak RSS | vs tshark | vs floor |"
echo "|---|---|---|---|---|---|---|"
row "cat > /dev/null" "$cat_w" "$cat_r"
row "tcpdump -r f -w /dev/null (record copy: floor)" "$td_w" "$td_r"
row "tcpdump -r f -w - \| cat (pipe speed)" "$pc_w" "$pc_r"
row "mywire analyze f (text; $(nproc) threads)" "$my_w" "$my_r" "$ts_w"
row "mywire analyze -j1 f (one thread)" "$my1_w" "$my1_r" "$ts_w"
row "mywire analyze --format json f" "$myj_w" "$myj_r" "$ts_w"
row "mywire analyze --format ndjson f" "$myn_w" "$myn_r" "$ts_w"
row "tcpdump -r f -w - \| mywire analyze -" "$myp_w" "$myp_r" "$ts_w"
row "tshark -r f -Y mysql -T fields (x$truns)" "$ts_w" "$ts_r" "$ts_w"
