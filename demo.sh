#!/usr/bin/env bash
# The demo: installs and starts the local services, makes sample speech and uploads it, applies the migrations, starts
# the orchestrator and a worker in the background, submits a batch, shows a progress bar, prints the results table read
# from PostgreSQL (through the orchestrator's API), and stops everything.
#
# Engine (the worker's model) is chosen by variables:
#   KIMIA_ENGINE_KIND   torch (default: the TorchSharp Kimi-Audio engine) | deterministic (pipeline test double, runs
#                       the test worker host tests/KimiAudio.Worker.TestHost instead of workers/KimiAudio.Worker)
#   KIMIA_MODEL_PATH    model folder for the torch engine (Engine__ModelPath): the official Kimi-Audio-7B-Instruct
#                       snapshot (with glm-4-voice-tokenizer/ inside or KIMIA_GLM_TOKENIZER_PATH). Unset: a tiny random
#                       checkpoint with the real layout is generated (meaningless text and speech, real arithmetic).
#   KIMIA_DTYPE         float32 (default) | bfloat16 (Engine__DType; use bfloat16 with real weights on GPU)
#   KIMIA_DEVICE        cpu (default) | cuda | cuda:N (Engine__Device)
#   KIMIA_TASK          asr (default) | caption | qa | emotion ...: the text batch; a chat batch (spoken replies,
#                       24 kHz WAVs stored in S3) runs after it unless KIMIA_CHAT=0
#   KIMIA_WORKER_HTTP_PORT  the worker's /health and /metrics listener (Worker__HttpPort, default 8080; 0 = any free
#                       port, when 8080 is taken on this machine)
#   KIMIA_KEEP_SERVICES=1 leaves the services running afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT="$PWD"
RUN="$ROOT/.run/demo"
ENGINE_KIND="${KIMIA_ENGINE_KIND:-torch}"
API_PORT="${KIMIA_API_PORT:-5080}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 KIMIA_API="http://127.0.0.1:$API_PORT"
mkdir -p "$RUN"
PIDS=()

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ "${KIMIA_KEEP_SERVICES:-0}" != 1 ]]; then infra/services.sh stop || true; fi
  exit "$rc"
}
trap cleanup EXIT

echo "== services"
infra/services.sh install
infra/services.sh start
# shellcheck source=/dev/null
source .run/services.env

echo "== build"
WORKER_PROJECT=workers/KimiAudio.Worker
WORKER_DLL=KimiAudio.Worker.dll
if [[ "$ENGINE_KIND" == deterministic ]]; then
  WORKER_PROJECT=tests/KimiAudio.Worker.TestHost
  WORKER_DLL=KimiAudio.Worker.TestHost.dll
fi
for project in orchestrator/KimiAudio.Cli orchestrator/KimiAudio.Orchestrator "$WORKER_PROJECT" workers/KimiAudio.Model.Cli; do
  dotnet build "$project" -c Release --nologo -v quiet -o "$RUN/bin/$(basename "$project")"
done
kimia() { dotnet "$RUN/bin/KimiAudio.Cli/kimia.dll" "$@"; }

MODEL_PATH="${KIMIA_MODEL_PATH:-}"
if [[ "$ENGINE_KIND" == torch && -z "$MODEL_PATH" ]]; then
  echo "== model: no KIMIA_MODEL_PATH given, generating a tiny random checkpoint with the real layout"
  MODEL_PATH="$RUN/tiny-model"
  rm -rf "$MODEL_PATH"
  dotnet "$RUN/bin/KimiAudio.Model.Cli/kimia-model.dll" generate-tiny "$MODEL_PATH" --seed 1234
fi

echo "== sample speech"
rm -rf "$RUN/samples"
infra/make-samples.sh "$RUN/samples"
rm -f "$RUN/samples/samples.tsv"
kimia upload "$RUN/samples" s3://kimia-demo/samples/

echo "== migrate"
kimia migrate
# every API call needs a key: the CLI creates one in PostgreSQL and prints it once
export KIMIA_API_KEY="$(kimia keys create "demo-$(date +%s)")"

echo "== start orchestrator and worker (engine: $ENGINE_KIND)"
dotnet "$RUN/bin/KimiAudio.Orchestrator/KimiAudio.Orchestrator.dll" --urls "$KIMIA_API" > "$RUN/orchestrator.log" 2>&1 &
PIDS+=($!)
Engine__Kind="$ENGINE_KIND" Engine__ModelPath="$MODEL_PATH" Engine__Device="${KIMIA_DEVICE:-cpu}" \
  Engine__DType="${KIMIA_DTYPE:-float32}" Engine__GlmTokenizerPath="${KIMIA_GLM_TOKENIZER_PATH:-}" \
  Worker__HttpPort="${KIMIA_WORKER_HTTP_PORT:-8080}" \
  dotnet "$RUN/bin/$(basename "$WORKER_PROJECT")/$WORKER_DLL" > "$RUN/worker.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 120); do
  curl -sf "$KIMIA_API/health" >/dev/null && break
  kill -0 "${PIDS[0]}" 2>/dev/null || { echo "orchestrator exited:"; tail -20 "$RUN/orchestrator.log"; exit 1; }
  sleep 0.5
done
sleep 2
kill -0 "${PIDS[1]}" 2>/dev/null || { echo "worker exited:"; tail -20 "$RUN/worker.log"; exit 1; }

echo "== submit: ${KIMIA_TASK:-asr} (text out)"
BATCH="$(kimia submit --source s3://kimia-demo/samples/ --task "${KIMIA_TASK:-asr}" --output text --max-tokens 48 --wait)"

echo "== results of batch $BATCH"
kimia results "$BATCH"

if [[ "${KIMIA_CHAT:-1}" == 1 ]]; then
  echo "== submit: chat (spoken replies, 24 kHz WAV next to the text)"
  CHAT="$(kimia submit --source s3://kimia-demo/samples/ --task chat --output both --max-tokens 48 --wait)"
  echo "== results of batch $CHAT"
  kimia results "$CHAT"
fi
