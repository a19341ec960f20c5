#!/usr/bin/env bash
# On a machine with a CUDA GPU, from a checkout set up by `make .venv/.installed`:
#     bash benchmarks/gpu_check.sh
# runs the GPU-marked tests (device placement, mixed precision, compilation, DDP over NCCL on the
# available GPUs), the slow compiled-vs-eager tests, then the benchmarks on the GPU, and prints one
# JSON line each, every line naming the GPU. Record the figures in the docs with the GPU's name.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
export PYTHONPATH=benchmarks${PYTHONPATH:+:$PYTHONPATH}

gpu=$("$PYTHON" -c 'import json, torch; assert torch.cuda.is_available(), "no CUDA GPU"; print(json.dumps(torch.cuda.get_device_name(0)))' 2>/dev/null) || {
    echo '{"check": "gpu", "error": "no CUDA GPU visible to torch"}'
    exit 1
}

# One JSON line: {"check": NAME, "gpu": ..., **the JSON a command printed}, or its exit status and last lines.
line() {
    local name=$1
    shift
    local output status
    output=$("$@" 2>&1)
    status=$?
    NAME=$name GPU=$gpu STATUS=$status OUTPUT=$output "$PYTHON" - <<'PY'
import json, os
name, gpu, status, output = os.environ["NAME"], json.loads(os.environ["GPU"]), int(os.environ["STATUS"]), os.environ["OUTPUT"]
start = output.find("{")
try:
    body = json.loads(output[start:]) if status == 0 and start >= 0 else None
except json.JSONDecodeError:
    body = None
record = {"check": name, "gpu": gpu}
record |= body if isinstance(body, dict) else {"exit_status": status, "tail": output[-2000:]}
print(json.dumps(record))
PY
}

tests() {  # pytest's summary as JSON: passed, failed, skipped
    local output
    output=$("$PYTHON" -m pytest -q -p no:cacheprovider "$@" 2>&1)
    local status=$?
    "$PYTHON" -c 'import json, re, sys; text = sys.argv[1]; print(json.dumps({kind: int(count) for count, kind in re.findall(r"(\d+) (passed|failed|skipped|error)", text.splitlines()[-1] if text else "")} | {"exit_status": int(sys.argv[2])}))' "$output" "$status"
}

line tests-gpu tests -m gpu tests plugins
line tests-compile tests --run-slow -m slow tests
line train-step "$PYTHON" benchmarks/train_step.py --device cuda --d-resolution 128 --frames 16 --batch-size 4
line train-step-256 "$PYTHON" benchmarks/train_step.py --device cuda --backend-options '{"resolution": 256, "channels": 128, "dim": 512}' --d-resolution 256 --frames 16 --batch-size 4
config_f=$(mktemp -d)/config-f-256.safetensors  # a config-f StyleGAN2 with random weights, the issue's 256 px setting
"$PYTHON" benchmarks/random_stylegan2.py --resolution 256 --out "$config_f" >/dev/null
step_json=$(dirname "$config_f")/train-step-config-f-256.json  # what the loader must keep up with (the data line)
line train-step-config-f-256 "$PYTHON" benchmarks/train_step.py --device cuda --backend stylegan2 --backend-options "{\"source\": \"$config_f\"}" --d-resolution 128 --frames 16 --batch-size 4 --variants fp32,bf16,fp32+checkpoint,bf16+compile --json-out "$step_json"
line render-memory "$PYTHON" benchmarks/render_memory.py --device cuda --resolution 256 1024 --checkpoint-frames 4
line fvd-detector "$PYTHON" benchmarks/fvd_detector.py --device cuda --frames 16 --batch 8
line synthesize "$PYTHON" plugins/latentmotion-stylegan2/benchmarks/synthesize.py --compile
line data "$PYTHON" benchmarks/data.py --workers 0 4 8 --clips 32 --videos 8 --train-step "$step_json"
