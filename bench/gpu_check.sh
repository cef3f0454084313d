#!/usr/bin/env bash
# The one GPU check: on a single H100, in under 8 minutes, every step time-boxed and writing
# under OUTDIR as it goes, so a run killed at any point still leaves what it measured.
#
#   bench/gpu_check.sh OUTDIR [--wheels DIR] [--preset P] [--rounds R] [--cpu-smoke]
#
# Steps (box = the step's limit in seconds; each is also cut to what is left of TOTAL):
#   env          20  nvidia-smi, python/torch/triton/CUDA versions, CPU model  -> env/
#   kernel-tests 90  pytest tests/kernels, CUDA visible                 -> kernel-tests.*
#   sandbox-tests 90 the sandbox's CUDA tests (Triton's compilers, CUDA graphs, torch.compile
#                    under the audit hook) + the thread-audit test that needs Python 3.12
#                    (CI has 3.11; the GPU image has 3.12); their own box, so compiles that
#                    run long cannot cost the kernel tests' results  -> sandbox-tests.*
#   bench-kernels 75 speedup bench-kernels --device cuda --json (gpu shapes)    -> kernels.json
#   ceiling      20  speedup bench --measure-ceiling (one matmul, one copy)     -> ceiling.log
#   calibrate   150  speedup calibrate --preset P --seeds 1, only if correctness/tolerances.json
#                    lacks P/cuda. First the baseline's time per step of P is scaled to
#                    calibration's whole runs (at most 120 s): if that cannot fit in the
#                    box, P becomes tiny (calibrated if needed), so the run still ends with
#                    judged records                     -> calibration-plan.log, tolerances.json
#   bench       rest speedup bench <every solution> --preset P --rounds R (they share the
#                    baseline runs), --allow-library if one imports kernels     -> results/*.json
#   leaderboard  15  speedup leaderboard --results-dir OUTDIR/results          -> leaderboard.*
# TOTAL is 470 s (GPU_CHECK_TOTAL); each box can be set with GPU_CHECK_BOX_<STEP> (upper
# case, '-' as '_'). OUTDIR/summary.tsv gets one line per step: name, exit code (124: its
# box ran out), seconds. Exit code: 0 when every step that ran exited 0, else 1.
#
# The GPU machine has no network: nothing is installed from the internet. The project runs
# from this checkout through PYTHONPATH (no install). --wheels DIR installs DIR/*.whl
# (pure-Python extras such as rich, pytest, hypothesis, pytest-benchmark) offline into a
# private target directory first.
#
# --cpu-smoke: the same steps on the CPU with the tiny preset, one round and short limits
# (tests/bench/test_gpu_check.py runs it): how we know the one GPU run works first time.
set -uo pipefail

usage() { echo "usage: $0 OUTDIR [--wheels DIR] [--preset P] [--rounds R] [--cpu-smoke]" >&2; exit 2; }
[ $# -ge 1 ] || usage
OUTDIR=$1; shift
WHEELS="" PRESET="" ROUNDS="" SMOKE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --wheels) [ $# -ge 2 ] || usage; WHEELS=$2; shift 2 ;;
    --preset) [ $# -ge 2 ] || usage; PRESET=$2; shift 2 ;;
    --rounds) [ $# -ge 2 ] || usage; ROUNDS=$2; shift 2 ;;
    --cpu-smoke|--dry-run) SMOKE=1; shift ;;
    *) usage ;;
  esac
done

REPO=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUTDIR/env" "$OUTDIR/results" || exit 2
OUTDIR=$(cd "$OUTDIR" && pwd)
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
export MPLCONFIGDIR=${MPLCONFIGDIR:-$OUTDIR/.matplotlib}

if [ "$SMOKE" = 1 ]; then
  DEVICE=cpu; PRESET=${PRESET:-tiny}; ROUNDS=${ROUNDS:-1}
  TOTAL=${GPU_CHECK_TOTAL:-900}
  export CUDA_VISIBLE_DEVICES="" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
  PYTEST_SELECT=(-k gelu)  # the interpreter is slow: one slot proves the step works
  KERNEL_ARGS=(--preset tiny --slots gelu --min-run-time 0.01)
  declare -A BOX=([env]=30 [kernel_tests]=240 [sandbox_tests]=120 [bench_kernels]=90 [ceiling]=60
                  [calibrate]=300 [bench]=400 [leaderboard]=60)
else
  DEVICE=cuda; PRESET=${PRESET:-gpu}; ROUNDS=${ROUNDS:-2}
  TOTAL=${GPU_CHECK_TOTAL:-470}
  PYTEST_SELECT=()
  KERNEL_ARGS=()
  declare -A BOX=([env]=20 [kernel_tests]=90 [sandbox_tests]=90 [bench_kernels]=75 [ceiling]=20
                  [calibrate]=150 [bench]=470 [leaderboard]=15)
fi
RESERVE=${BOX[leaderboard]}  # kept back from the bench so the leaderboard always renders
START=$(date +%s)
FAILED=0
: > "$OUTDIR/summary.tsv"

if [ -n "$WHEELS" ]; then
  SITE=$(mktemp -d /tmp/speedup-site.XXXXXX)
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$WHEELS"/*.whl \
    > "$OUTDIR/wheels.log" 2>&1 || { echo "installing wheels from $WHEELS failed: see wheels.log" >&2; exit 2; }
  export PYTHONPATH="$REPO:$SITE${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
fi
cd "$REPO" || exit 2

# step NAME CMD...: run CMD with its box (cut to what is left), log to OUTDIR/NAME.log.
step() {
  local name=$1; shift
  local key=${name//-/_}
  local override="GPU_CHECK_BOX_${key^^}"
  local box=${!override:-${BOX[$key]}}
  local reserve=$RESERVE
  [ "$name" = leaderboard ] && reserve=0
  local left=$(( TOTAL - ($(date +%s) - START) - reserve ))
  [ "$box" -gt "$left" ] && box=$left
  if [ "$box" -lt 5 ]; then
    printf '%s\tskipped\t0\tno time left\n' "$name" >> "$OUTDIR/summary.tsv"
    echo "== $name: skipped, no time left"; FAILED=1; return
  fi
  echo "== $name (box ${box}s)"
  local t0=$(date +%s)
  timeout -s INT -k 15 "$box" "$@" > "$OUTDIR/$name.log" 2>&1
  local rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(( $(date +%s) - t0 ))" >> "$OUTDIR/summary.tsv"
  echo "== $name: exit $rc after $(( $(date +%s) - t0 ))s"
  [ "$rc" = 0 ] || FAILED=1
}

capture_env() {
  { command -v nvidia-smi >/dev/null && nvidia-smi || echo "no nvidia-smi"; } > env/nvidia-smi.txt 2>&1
  "$PY" - <<'EOF' > env/versions.json
import json, os, platform, sys
import torch
from bench.records import environment
env = environment("cuda" if torch.cuda.is_available() else "cpu")
env.update(executable=sys.executable, cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"))
print(json.dumps(env, indent=1))
EOF
  "$PY" -m pip list --format=freeze > env/pip-freeze.txt 2>&1 || true
  git -C "$REPO" rev-parse HEAD > env/git-head.txt 2>&1 || true
}

# plan_calibration BOX: prints the preset to evaluate on ("$PRESET", or tiny when calibrating
# $PRESET could not fit in BOX seconds), whether to calibrate it, and why. The estimate is
# the baseline's time per step of the preset here, scaled to calibration's whole runs.
plan_calibration() {
  "$PY" - "$PRESET" "$DEVICE" "$1" <<'EOF'
import sys, time
import baseline
from correctness import calibrate, tolerances
preset, device, box = sys.argv[1], sys.argv[2], float(sys.argv[3])

def calibrated(p):
    try:
        tolerances.load(p, device)
        return True
    except tolerances.ToleranceError:
        return False

def estimate(p):
    """Seconds of training a calibration of p needs: one-step runs for about 2 s."""
    cfg = baseline.get_preset(p).to_cfg(device)
    inputs = baseline.make_inputs({**cfg, "steps": 12}, 0)
    one = {**cfg, "steps": 1}

    def step(i):
        baseline.train(one, inputs["init"], inputs["tokens"], inputs["batches"][i:i + 1])

    step(0)  # warm: allocator, kernels, libraries
    n, t0 = 0, time.perf_counter()
    while n < 12 and (n == 0 or time.perf_counter() - t0 < 2.0):
        step(n)
        n += 1
    per_step = (time.perf_counter() - t0) / n
    return per_step * cfg["steps"] * calibrate.runs_per_seed(p, device)

if calibrated(preset):
    print(preset, "no", f"{preset}/{device} already calibrated")
    sys.exit(0)
need = estimate(preset)
if need < 0.8 * box:
    print(preset, "yes", f"calibrating {preset}/{device}: about {need:.0f} s of training")
elif calibrated("tiny"):
    print("tiny", "no", f"{preset}/{device} would need about {need:.0f} s of calibration "
          f"(box {box:.0f} s): evaluating on tiny/{device}, already calibrated")
else:
    print("tiny", "yes", f"{preset}/{device} would need about {need:.0f} s of calibration "
          f"(box {box:.0f} s): calibrating and evaluating tiny/{device} instead")
EOF
}

solutions=()
library=()
for d in "$REPO"/solutions/*/; do
  [ -f "$d/solution.py" ] || continue
  solutions+=("${d%/}")
  grep -rqsE '^\s*(from|import) kernels' --include='*.py' "$d" && library=(--allow-library)
done

export -f capture_env
export PY REPO OUTDIR
step env bash -c 'cd "$OUTDIR" && capture_env'
step kernel-tests "$PY" -m pytest tests/kernels -x -q -p no:cacheprovider "${PYTEST_SELECT[@]}" \
  --junitxml="$OUTDIR/kernel-tests.xml"
step sandbox-tests "$PY" -m pytest tests/correctness/test_sandbox_cuda.py \
  tests/adversarial/test_adversarial.py::test_thread_start_is_refused_where_python_audits_it \
  -q -p no:cacheprovider --junitxml="$OUTDIR/sandbox-tests.xml"
step bench-kernels "$PY" -m bench bench-kernels --device "$DEVICE" "${KERNEL_ARGS[@]}" \
  --json "$OUTDIR/kernels.json"
step ceiling "$PY" -m bench bench --measure-ceiling --device "$DEVICE"
CAL_BOX=${GPU_CHECK_BOX_CALIBRATE:-${BOX[calibrate]}}
HALF_LEFT=$(( (TOTAL - ($(date +%s) - START) - RESERVE) / 2 ))  # the bench needs time too
[ "$CAL_BOX" -gt "$HALF_LEFT" ] && CAL_BOX=$HALF_LEFT
export -f plan_calibration
export PRESET DEVICE
read -r EVAL_PRESET CALIBRATE WHY < <(timeout 120 bash -c 'plan_calibration "$0"' "$CAL_BOX" \
  2> "$OUTDIR/calibration-plan.log")
echo "== calibration plan: ${WHY:-none, see calibration-plan.log}" | tee -a "$OUTDIR/calibration-plan.log"
if [ "${CALIBRATE:-}" = yes ]; then
  GPU_CHECK_BOX_CALIBRATE=$CAL_BOX step calibrate "$PY" -m bench calibrate \
    --preset "$EVAL_PRESET" --device "$DEVICE" --seeds 1
  cp correctness/tolerances.json "$OUTDIR/tolerances.json" 2>/dev/null
else
  printf 'calibrate\tnot needed\t0\t%s\n' "${WHY:-no plan}" >> "$OUTDIR/summary.tsv"
fi
PRESET=${EVAL_PRESET:-$PRESET}
if [ ${#solutions[@]} -gt 0 ]; then
  step bench "$PY" -m bench bench "${solutions[@]}" --preset "$PRESET" --device "$DEVICE" \
    --rounds "$ROUNDS" "${library[@]}" --measure-ceiling --results-dir "$OUTDIR/results"
else
  printf 'bench\tskipped\t0\tno solutions in solutions/\n' >> "$OUTDIR/summary.tsv"
fi
step leaderboard "$PY" -m bench leaderboard --results-dir "$OUTDIR/results" --out "$OUTDIR"

echo "== done in $(( $(date +%s) - START ))s; summary:"
cat "$OUTDIR/summary.tsv"
exit $FAILED
