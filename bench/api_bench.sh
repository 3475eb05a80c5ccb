#!/usr/bin/env bash
# api_bench.sh: requests per second of GET /_ping and GET /version over the
# unix socket with 1 and 64 keep-alive clients, and idle RSS, for berth and for
# `podman system service` side by side, and for bench/floor_server.c (a canned
# answer from one epoll loop: what any server could reach here). See
# bench/README.md.
#
# Usage: bench/api_bench.sh [--berth PATH] [--loadgen PATH] [--runs 5]
#                           [--duration 5] [--warmup 1] [--idle 5]
#                           [--only berth|podman|floor]
#
# Prints a markdown table on stdout (progress goes to stderr) and writes the
# same figures as JSON to bench/results/api-<date>.json.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

berth=$repo/build/release/src/daemon/berth
loadgen=
runs=5
duration=5
warmup=1
idle=5
only=
paths=(/_ping /version)
clients=(1 64)

usage() {
  sed -n '8,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

log() { printf '%s\n' "$*" >&2; }
die() {
  log "api_bench: $*"
  exit 1
}

while (($#)); do
  case $1 in
    -h | --help) usage 0 ;;
    --berth | --loadgen | --runs | --duration | --warmup | --idle | --only)
      (($# >= 2)) || die "missing value for $1"
      declare "${1#--}=$2"
      shift 2
      ;;
    *) log "api_bench: unknown argument: $1" && usage 2 ;;
  esac
done

[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
for v in duration warmup idle; do
  [[ ${!v} =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--$v must be a number of seconds"
done
case $only in
  "") servers=(berth podman floor) ;;
  berth | podman | floor) servers=("$only") ;;
  *) die "--only takes berth, podman or floor" ;;
esac
uses() { [[ " ${servers[*]} " == *" $1 "* ]]; }

if uses berth; then
  [[ -x $berth ]] || die "no berth binary at $berth (build it, or pass --berth PATH)"
  berth=$(realpath "$berth")
fi

if uses podman && ! command -v podman >/dev/null; then
  log "podman is not installed; installing Debian's podman with apt-get"
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >&2
fi
if uses podman && ((EUID != 0)); then
  # Rootless podman re-executes itself into a user namespace and leaves a
  # pause process behind that this script did not start and will not kill.
  log "api_bench: warning: not root, so podman runs rootless and may leave its pause process running"
fi

# ---------------------------------------------------------------------------
# Temporary state and clean-up. Only PIDs started here are ever signalled.

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")
started=()
# Root podman and crun create these on first use; remember which ones did not
# exist, so that clean-up can remove them again (rmdir: only if still empty).
run_dirs=()
if uses podman && ((EUID == 0)); then
  for d in /run/containers/networks /run/containers /run/crun; do
    [[ -e $d ]] || run_dirs+=("$d")
  done
fi

alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]  # A zombie has exited; it only waits to be reaped.
}

stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$? pid mnt d
  trap - EXIT INT TERM
  for pid in "${started[@]}"; do stop_pid "$pid"; done
  # Podman's overlay driver bind-mounts its store onto itself and leaves the
  # mount behind; unmount everything under $work, deepest first.
  while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || log "api_bench: could not unmount $mnt"
  done < <(awk -v p="$work/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  rm -rf --one-file-system "$work"
  for d in "${run_dirs[@]}"; do rmdir "$d" 2>/dev/null || true; done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Load generator: the CMake-built one if it is current, else compile it.

if [[ -z $loadgen ]]; then
  built=$repo/build/release/bench/berth-loadgen
  if [[ -x $built && $built -nt $here/loadgen.cpp ]]; then
    loadgen=$built
  else
    log "compiling bench/loadgen.cpp"
    "${CXX:-g++}" -std=c++20 -O2 -o "$work/berth-loadgen" "$here/loadgen.cpp" -pthread
    loadgen=$work/berth-loadgen
  fi
fi
[[ -x $loadgen ]] || die "load generator $loadgen is not executable"

if uses floor; then
  "${CC:-cc}" -O2 -o "$work/floor_server" "$here/floor_server.c"
fi

# ---------------------------------------------------------------------------
# Servers

declare -A pid sock logfile
for s in "${servers[@]}"; do
  sock[$s]=$work/$s.sock
  logfile[$s]=$work/$s.log
done

start_berth() {
  "$berth" serve -H "unix://${sock[berth]}" --data-root "$work/berth-data" >"${logfile[berth]}" 2>&1 &
  pid[berth]=$!
  started+=("${pid[berth]}")
}

start_podman() {
  # Every path podman would otherwise take from the machine (store, run state,
  # libpod tmp, network configs, volumes, event log) points into $work.
  podman --root "$work/podman/root" --runroot "$work/podman/runroot" \
    --tmpdir "$work/podman/tmp" --network-config-dir "$work/podman/networks" \
    --volumepath "$work/podman/volumes" --events-backend file \
    system service --time=0 "unix://${sock[podman]}" >"${logfile[podman]}" 2>&1 &
  pid[podman]=$!
  started+=("${pid[podman]}")
}

start_floor() {
  "$work/floor_server" "${sock[floor]}" >"${logfile[floor]}" 2>&1 &
  pid[floor]=$!
  started+=("${pid[floor]}")
}

wait_ready() {
  local s=$1 i
  for ((i = 0; i < 300; i++)); do
    if ! alive "${pid[$s]}"; then
      tail -n 20 "${logfile[$s]}" >&2
      die "$s exited during start-up (log above)"
    fi
    if [[ -S ${sock[$s]} ]] &&
      "$loadgen" --unix "${sock[$s]}" --path /_ping --duration 0.01 --warmup 0 >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "${logfile[$s]}" >&2
  die "$s did not answer GET /_ping on ${sock[$s]} within 30 s"
}

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# CPU time of a process and its reaped children, in clock ticks.
cpu_ticks() {
  local stat f
  stat=$(cat "/proc/$1/stat")
  read -ra f <<<"${stat##*) }"  # f[0] is field 3 of proc(5), "state".
  echo $((f[11] + f[12] + f[13] + f[14]))
}

# Before each run, wait until every server is idle: podman keeps working on
# requests whose client has gone (GET /version forks conmon and crun), and
# that must not eat into the next run's CPU.
wait_quiet() {
  local hz quiet i s before after
  hz=$(getconf CLK_TCK)
  quiet=$((hz / 50 > 0 ? hz / 50 : 1))  # At most 2% of a core over 0.5 s.
  for ((i = 0; i < 240; i++)); do
    before=0 after=0
    for s in "${servers[@]}"; do before=$((before + $(cpu_ticks "${pid[$s]}"))); done
    sleep 0.5
    for s in "${servers[@]}"; do after=$((after + $(cpu_ticks "${pid[$s]}"))); done
    ((after - before <= quiet)) && return 0
  done
  log "api_bench: warning: servers still busy after 120 s; measuring anyway"
}

# One load-generator run; prints its JSON line.
run_once() {
  local s=$1 path=$2 conns=$3 line rc=0
  line=$("$loadgen" --unix "${sock[$s]}" --path "$path" --connections "$conns" \
    --duration "$duration" --warmup "$warmup" 2>>"$work/loadgen-$s.err") || rc=$?
  # Status 1 only means no 200 response in the window: that is a result (0 rps).
  if ((rc > 1)) || [[ -z $line ]]; then
    alive "${pid[$s]}" || tail -n 20 "${logfile[$s]}" >&2
    die "load generator failed against $s (exit $rc): $(tail -n 3 "$work/loadgen-$s.err")"
  fi
  printf '%s\n' "$line"
}

field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" <<<"$1"; }

median() {
  printf '%s\n' "$@" | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

json_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  printf '"%s"' "$s"
}

mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb * 1024 / 1e6 }'; }

# ---------------------------------------------------------------------------
# Measure

# Load before anything starts: a busy machine (a build, tests) skews everything.
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)

for s in "${servers[@]}"; do
  log "starting $s"
  "start_$s"
done
for s in "${servers[@]}"; do wait_ready "$s"; done

log "servers up; idle for ${idle}s before reading RSS"
sleep "$idle"
declare -A idle_kb
for s in "${servers[@]}"; do idle_kb[$s]=$(status_kb "${pid[$s]}" VmRSS); done

declare -A lines med
for path in "${paths[@]}"; do
  for conns in "${clients[@]}"; do
    key="$path $conns"
    for ((r = 1; r <= runs; r++)); do
      for s in "${servers[@]}"; do  # Alternate servers run by run.
        wait_quiet
        line=$(run_once "$s" "$path" "$conns")
        lines[$s $key]+="${lines[$s $key]:+,}$line"
        log "GET $path x$conns run $r/$runs $s: $(field "$line" rps) rps, $(field "$line" errors) errors"
      done
    done
    for s in "${servers[@]}"; do
      mapfile -t rps < <(tr '}' '\n' <<<"${lines[$s $key]}" | sed -n 's/.*"rps":\([^,}]*\).*/\1/p')
      med[$s $key]=$(median "${rps[@]}")
    done
  done
done

loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A peak_kb after_kb
for s in "${servers[@]}"; do
  peak_kb[$s]=$(status_kb "${pid[$s]}" VmHWM)
  after_kb[$s]=$(status_kb "${pid[$s]}" VmRSS)
done

# ---------------------------------------------------------------------------
# Report

both=false
uses berth && uses podman && both=true

# Prints "ratio|display": berth / podman, or a lower bound when podman
# completed no request in the window (its rate was then below 1/duration).
ratio() {
  awk -v b="$1" -v p="$2" -v d="$duration" 'BEGIN {
    if (p > 0) printf "%.3f|%.2fx", b / p, b / p
    else if (b > 0) printf "null|> %.0fx (podman: no response in %ss)", b * d, d
    else printf "null|n/a"
  }'
}

date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
berth_version="" podman_version=""
if uses berth; then berth_version=$("$berth" --version 2>/dev/null | head -n 1 || true); fi
if uses podman; then podman_version=$(podman --version 2>/dev/null || true); fi

# Whole requests per second, but keep a decimal for podman's slow /version.
fmt_rps() { awk -v r="$1" 'BEGIN { printf (r >= 100 ? "%.0f" : "%.1f"), r }'; }

cell() { if uses "$1"; then printf '%s' "$2"; else printf 'n/a'; fi; }

table=$(
  printf '%s, %s CPUs (%s), load average %s at start and %s at end, runs=%s, duration=%ss, warmup=%ss\n\n' \
    "$date_utc" "$(nproc)" "$cpu_model" "$loadavg" "$loadavg_end" "$runs" "$duration" "$warmup"
  printf '| endpoint | clients | berth rps (median) | podman rps (median) | ratio | floor rps (median) |\n'
  printf '|---|---:|---:|---:|---:|---:|\n'
  for path in "${paths[@]}"; do
    for conns in "${clients[@]}"; do
      key="$path $conns"
      r=n/a
      $both && r=$(ratio "${med[berth $key]}" "${med[podman $key]}") && r=${r#*|}
      printf '| GET %s | %s | %s | %s | %s | %s |\n' "$path" "$conns" \
        "$(cell berth "$(fmt_rps "${med[berth $key]:-0}")")" \
        "$(cell podman "$(fmt_rps "${med[podman $key]:-0}")")" "$r" \
        "$(cell floor "$(fmt_rps "${med[floor $key]:-0}")")"
    done
  done
  for kind in idle peak; do
    declare -n kb=${kind}_kb
    r=n/a
    $both && r=$(awk -v b="${kb[berth]}" -v p="${kb[podman]}" 'BEGIN { printf "%.2fx", b / p }')
    printf '| %s RSS (MB) | | %s | %s | %s | |\n' "$kind" \
      "$(cell berth "$(mb "${kb[berth]:-0}")")" "$(cell podman "$(mb "${kb[podman]:-0}")")" "$r"
    unset -n kb
  done
  printf '\nRSS is VmRSS (idle: after %ss without requests) and VmHWM (peak) of the\n' "$idle"
  printf 'server process alone; for podman that is the service pid, not its children.\n'
  if uses berth; then
    printf '\nGoal: idle RSS < 10 MB: %s (%s MB)\n' \
      "$(awk -v kb="${idle_kb[berth]}" 'BEGIN { print (kb * 1024 < 10e6) ? "PASS" : "FAIL" }')" \
      "$(mb "${idle_kb[berth]}")"
  fi
  if $both; then
    worst=
    for path in "${paths[@]}"; do
      for conns in "${clients[@]}"; do
        r=$(ratio "${med[berth $path $conns]}" "${med[podman $path $conns]}")
        r=${r%%|*}
        [[ $r == null ]] && continue  # Podman never answered: no upper bound to miss.
        worst=$(awk -v w="$worst" -v r="$r" -v k="GET $path x$conns" \
          'BEGIN { split(w, a, "|"); if (w == "" || r + 0 < a[1] + 0) print r "|" k; else print w }')
      done
    done
    if [[ -z $worst ]]; then
      printf 'Goal: >= 5x podman rps: PASS (podman answered nothing in the window)\n'
    else
      awk -v r="${worst%%|*}" -v k="${worst#*|}" \
        'BEGIN { printf "Goal: >= 5x podman rps: %s (lowest ratio %.2fx, %s)\n", (r >= 5) ? "PASS" : "FAIL", r, k }'
    fi
  fi
  if uses floor && uses podman; then
    # Where 5x podman is above what a server doing nothing reaches, no server can meet it here.
    for path in "${paths[@]}"; do
      for conns in "${clients[@]}"; do
        awk -v f="${med[floor $path $conns]}" -v p="${med[podman $path $conns]}" -v k="GET $path x$conns" \
          'BEGIN { if (p > 0 && f < 5 * p) printf "Floor: 5x podman at %s needs %.0f rps; the floor server reaches %.0f (%.2fx podman)\n", k, 5 * p, f, f / p }'
      done
    done
  fi
)
printf '%s\n' "$table"

mkdir -p "$here/results"
stamp=$(date -u +%Y%m%d-%H%M%S)
out=$here/results/api-$stamp.json
{
  printf '{"date":%s,"host":{"cpus":%s,"cpu":%s,"kernel":%s,"loadavg_at_start":%s,"loadavg_at_end":%s},' \
    "$(json_str "$date_utc")" "$(nproc)" "$(json_str "$cpu_model")" "$(json_str "$(uname -r)")" \
    "$(json_str "$loadavg")" "$(json_str "$loadavg_end")"
  printf '"config":{"runs":%s,"duration_s":%s,"warmup_s":%s,"idle_s":%s},' "$runs" "$duration" "$warmup" "$idle"
  printf '"servers":{'
  sep=
  for s in "${servers[@]}"; do
    version=$berth_version binary=$berth
    [[ $s == podman ]] && version=$podman_version binary=$(command -v podman)
    [[ $s == floor ]] && version="" binary=$here/floor_server.c
    printf '%s"%s":{"binary":%s,"version":%s,"idle_rss_mb":%s,"peak_rss_mb":%s,"rss_after_load_mb":%s}' \
      "$sep" "$s" "$(json_str "$binary")" "$(json_str "$version")" \
      "$(mb "${idle_kb[$s]}")" "$(mb "${peak_kb[$s]}")" "$(mb "${after_kb[$s]}")"
    sep=,
  done
  printf '},"cases":['
  sep=
  for path in "${paths[@]}"; do
    for conns in "${clients[@]}"; do
      key="$path $conns"
      printf '%s{"path":%s,"connections":%s' "$sep" "$(json_str "$path")" "$conns"
      for s in "${servers[@]}"; do
        printf ',"%s":{"rps_median":%s,"runs":[%s]}' "$s" "${med[$s $key]}" "${lines[$s $key]}"
      done
      if $both; then
        r=$(ratio "${med[berth $key]}" "${med[podman $key]}")
        printf ',"ratio":%s' "${r%%|*}"
        [[ ${r%%|*} == null && $r != *n/a ]] &&
          printf ',"ratio_lower_bound":%s' "$(awk -v b="${med[berth $key]}" -v d="$duration" 'BEGIN { printf "%.0f", b * d }')"
      fi
      printf '}'
      sep=,
    done
  done
  printf '],"summary":%s}\n' "$(json_str "$table")"
} >"$out"
log "results written to ${out#"$repo"/}"
