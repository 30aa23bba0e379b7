#!/usr/bin/env bash
# Runs the zombienet test suites (jobs.zndsl and dishonest.zndsl, or the ones named) one
# after the other with zombienet's native provider: each suite starts its own network of
# haca-node processes on loopback ports that zombienet picks, so several runs can overlap.
#
#   zombienet/run.sh [SUITE.zndsl ...]
#
# Environment:
#   HACA_NODE          node binary (default ${CARGO_TARGET_DIR:-~/.cache/haca-target}/debug/haca-node)
#   ZN_SUITE_TIMEOUT   seconds a suite may take before it is stopped (default 900)
#   ZN_KEEP=1          keep the run directory (node logs, databases) even when all pass
#
# Each suite's zombienet runs in a session of its own; whatever it started (node
# processes) is stopped by process id when the suite ends, fails, times out or this script
# is interrupted, and the script checks that no process of the run is left.
# Prints each suite's wall time and the figures its stats step recorded (jobs settled...).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
caller="$PWD"
cd "$here"

HACA_NODE="${HACA_NODE:-${CARGO_TARGET_DIR:-$HOME/.cache/haca-target}/debug/haca-node}"
export HACA_NODE
SUITE_TIMEOUT="${ZN_SUITE_TIMEOUT:-900}"
log() { printf '[zombienet] %s\n' "$*" >&2; }

[ -x "$HACA_NODE" ] || { log "no node binary at $HACA_NODE (cargo build -p haca-node, or set HACA_NODE)"; exit 1; }
command -v setsid >/dev/null || { log "setsid (util-linux) is needed"; exit 1; }
# npm packages: zombienet here, and the HACA client the JS scripts use (../clients/js);
# scripts/setup.sh installs both, this only catches a missing or stale install.
for package in . ../clients/js; do
	if [ ! -f "$package/node_modules/.package-lock.json" ] ||
		[ "$package/package-lock.json" -nt "$package/node_modules/.package-lock.json" ]; then
		log "installing the npm packages of $package (npm ci)"
		(cd "$package" && npm ci --no-audit --no-fund --loglevel=error)
	fi
done
zombienet="$here/node_modules/@zombienet/cli/dist/cli.js"

# Suites named relative to the caller's directory or to zombienet/.
[ $# -gt 0 ] || set -- jobs.zndsl dishonest.zndsl
suites=()
for suite in "$@"; do
	case $suite in
	/*) candidates=("$suite") ;;
	*) candidates=("$caller/$suite" "$here/$suite") ;;
	esac
	for candidate in "${candidates[@]}"; do
		if [ -f "$candidate" ]; then suites+=("$(cd "$(dirname "$candidate")" && pwd)/$(basename "$candidate")"); continue 2; fi
	done
	log "no suite $suite"
	exit 1
done

run_dir="$(mktemp -d "${TMPDIR:-/tmp}/haca-zombienet.XXXXXX")"
export ZN_RESULTS_DIR="$run_dir/results"
log "node binary: $HACA_NODE"
log "run directory: $run_dir"

# Process ids of the run's processes: the suites' zombienet sessions, and anything whose
# command line names the run directory (every node's --base-path is inside it).
sessions=()
# Zombies (state Z: killed, waiting to be reaped) are not running and do not count.
run_pids() {
	ps -eo pid=,sid=,stat=,comm=,args= | RUN_DIR="$run_dir/" SIDS=" ${sessions[*]:-} " awk '
		$3 !~ /^Z/ && $4 != "tee" && (index(ENVIRON["SIDS"], " " $2 " ") || index($0, ENVIRON["RUN_DIR"])) { print $1 }'
}
stop_pids() { # stop_pids SIGNAL PID...
	local signal=$1
	shift
	for pid in "$@"; do kill "-$signal" "$pid" 2>/dev/null || true; done
}
cleanup() {
	local left
	mapfile -t left < <(run_pids)
	[ ${#left[@]} -eq 0 ] && return 0
	log "stopping ${#left[@]} leftover process(es): ${left[*]}"
	stop_pids TERM "${left[@]}"
	for _ in $(seq 20); do
		mapfile -t left < <(run_pids)
		[ ${#left[@]} -eq 0 ] && return 0
		sleep 0.5
	done
	stop_pids KILL "${left[@]}"
	sleep 1
	mapfile -t left < <(run_pids)
	[ ${#left[@]} -eq 0 ]
}
on_signal() {
	log "interrupted: stopping the networks"
	cleanup || true
	exit 130
}
trap on_signal INT TERM
trap 'cleanup || true' EXIT

# Alice's model store in honest.toml: the heavy ResNet-18 (scripts/setup.sh generates it),
# which the executors fetch from her over the chain's network.
HACA_HELD_MODELS="$run_dir/held-models"
export HACA_HELD_MODELS
"$HACA_NODE" model add "$here/../offchain-workers/models/heavy/resnet18/model.onnx" \
	--model-dir "$HACA_HELD_MODELS" >/dev/null

declare -A wall status
failed=0
for suite in "${suites[@]}"; do
	name="$(basename "$suite" .zndsl)"
	log "suite $name: starting (timeout ${SUITE_TIMEOUT} s; log $run_dir/$name.log)"
	started=$SECONDS
	# A background job of this (non-interactive) shell is not a process group leader, so
	# setsid makes the zombienet process itself the leader of a new session.
	setsid node "$zombienet" test --provider native --dir "$run_dir/$name" --logType text "$suite" \
		> >(tee "$run_dir/$name.log") 2>&1 &
	pid=$!
	sessions+=("$pid")
	deadline=$((SECONDS + SUITE_TIMEOUT))
	timed_out=0
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			timed_out=1
			log "suite $name: timed out after ${SUITE_TIMEOUT} s; stopping it"
			# Zombienet exits on SIGTERM but leaves its nodes running: they are stopped below.
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 1
	done
	rc=0
	wait "$pid" || rc=$?
	if [ $timed_out -eq 1 ]; then rc=124; fi
	wall[$name]=$((SECONDS - started))
	# Zombienet kills its nodes when it ends; anything left of this suite is a leak.
	mapfile -t left < <(run_pids)
	if [ ${#left[@]} -gt 0 ]; then
		log "suite $name: ${#left[@]} process(es) outlived zombienet:" \
			"$(ps -o pid=,comm= -p "$(IFS=,; echo "${left[*]}")" | tr -s ' \n' ' ')"
		cleanup || log "could not stop: $(run_pids | tr '\n' ' ')"
		if [ "$rc" -eq 0 ]; then rc=1; fi
	fi
	if [ "$rc" -eq 0 ]; then status[$name]=passed; else status[$name]="FAILED ($rc)"; failed=1; fi
	log "suite $name: ${status[$name]} in ${wall[$name]} s"
done

# No process of the run may survive it.
cleanup || { log "processes still running: $(run_pids | tr '\n' ' ')"; failed=1; }
if [ -z "$(run_pids)" ]; then
	log "no process of the run left (checked: sessions ${sessions[*]}; command lines naming $run_dir)"
fi

# Summary: wall time per suite and the chain figures the suites recorded.
summary_args=()
for suite in "${suites[@]}"; do
	name="$(basename "$suite" .zndsl)"
	summary_args+=("$name" "${status[$name]}" "${wall[$name]}")
done
node - "$ZN_RESULTS_DIR" "${summary_args[@]}" <<'EOF'
const fs = require('node:fs');
const [dir, ...rest] = process.argv.slice(2);
const rows = [];
let settled = 0;
let wallTotal = 0;
let chainTotal = 0;
for (let i = 0; i < rest.length; i += 3) {
  const [name, status, wall] = [rest[i], rest[i + 1], Number(rest[i + 2])];
  let f = {};
  try { f = JSON.parse(fs.readFileSync(`${dir}/${name}.json`, 'utf8')); } catch {}
  wallTotal += wall;
  settled += f.settled ?? 0;
  chainTotal += f.chainMinutes ?? 0;
  rows.push({
    suite: name, status, 'wall s': wall, blocks: f.blocks ?? '-', submitted: f.submitted ?? '-',
    settled: f.settled ?? '-', reassigned: f.reassigned ?? '-', challenged: f.challenged ?? '-', slashed: f.slashed ?? '-',
    'settled/chain min': f.settledPerChainMinute ?? '-',
    'settled/wall min': f.settled !== undefined ? Number((f.settled / (wall / 60)).toFixed(2)) : '-',
  });
}
console.log('\nzombienet suites:');
console.table(rows);
console.log(`total: ${wallTotal} s wall; ${settled} jobs settled: ${(settled / (wallTotal / 60)).toFixed(2)} per wall minute, ` +
  `${chainTotal ? (settled / chainTotal).toFixed(2) : '-'} per minute of chain time (${chainTotal.toFixed(1)} min)`);
EOF

if [ $failed -eq 0 ] && [ "${ZN_KEEP:-0}" != 1 ]; then
	rm -rf "$run_dir"
else
	log "logs and databases kept in $run_dir"
fi
exit $failed
