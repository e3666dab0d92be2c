#!/bin/sh
# Downloads moonshotai/Kimi-Audio-7B-Instruct and THUDM/glm-4-voice-tokenizer into $MODELS (default /models) once,
# then writes $MODELS/.kimia-weights-complete, which the workers check before starting. Safe to run concurrently
# (a lock file serialises runs) and to re-run (exits at once when complete; an interrupted download resumes).
# Env: KIMI_AUDIO_REVISION, GLM_TOKENIZER_REVISION (hub commit shas; default main), DOWNLOAD_DETOKENIZER (true|false),
#      HF_TOKEN (optional), HF_ENDPOINT (optional mirror).
set -eu
MODELS=${MODELS:-/models}
MARKER="$MODELS/.kimia-weights-complete"
export HOME=${HOME:-/tmp} HF_HOME="$MODELS/.hf-cache"
export KIMI_AUDIO_REVISION=${KIMI_AUDIO_REVISION:-main} GLM_TOKENIZER_REVISION=${GLM_TOKENIZER_REVISION:-main}
export DOWNLOAD_DETOKENIZER=${DOWNLOAD_DETOKENIZER:-true} MODELS
if [ -f "$MARKER" ]; then echo "weights already complete:"; cat "$MARKER"; exit 0; fi
mkdir -p "$MODELS"
exec 9>"$MODELS/.kimia-weights.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ -f "$MARKER" ]; then echo "completed by another run:"; cat "$MARKER"; exit 0; fi
pip install --no-cache-dir --user --quiet 'huggingface_hub==2.4.0'
python - <<'PY'
import os
from huggingface_hub import snapshot_download
models = os.environ["MODELS"]
# A text-only fleet skips the speech decoder: audio_detokenizer/ (19.0 GB training checkpoint) and vocoder/.
ignore = None if os.environ["DOWNLOAD_DETOKENIZER"].lower() == "true" else ["audio_detokenizer/*", "vocoder/*"]
snapshot_download("moonshotai/Kimi-Audio-7B-Instruct", revision=os.environ["KIMI_AUDIO_REVISION"],
                  local_dir=os.path.join(models, "Kimi-Audio-7B-Instruct"), ignore_patterns=ignore)
snapshot_download("THUDM/glm-4-voice-tokenizer", revision=os.environ["GLM_TOKENIZER_REVISION"],
                  local_dir=os.path.join(models, "glm-4-voice-tokenizer"))
PY
chmod -R a+rX "$MODELS/Kimi-Audio-7B-Instruct" "$MODELS/glm-4-voice-tokenizer"
{ date -u +%FT%TZ; echo "Kimi-Audio-7B-Instruct@$KIMI_AUDIO_REVISION"; echo "glm-4-voice-tokenizer@$GLM_TOKENIZER_REVISION"
  echo "detokenizer=$DOWNLOAD_DETOKENIZER"; } > "$MARKER.tmp"
mv "$MARKER.tmp" "$MARKER"
du -sh "$MODELS/Kimi-Audio-7B-Instruct" "$MODELS/glm-4-voice-tokenizer"
