#!/usr/bin/env bash
# Makes 24 short English speech clips with espeak-ng into DIR, in a mix of containers and layouts so that decoding is
# exercised: WAV PCM 8/16/24-bit and float 32/64 at 8-48 kHz, mono and stereo, MP3, FLAC, Ogg Vorbis, and one MP3 whose
# name says .wav. Also writes DIR/samples.tsv (file, format, text). Needs espeak-ng, sox, ffmpeg (infra/services.sh install).
#   infra/make-samples.sh DIR
set -euo pipefail
OUT="${1:?usage: $0 OUTPUT_DIR}"
for tool in espeak-ng sox ffmpeg; do
  command -v "$tool" >/dev/null || { echo "make-samples: $tool is missing; run infra/services.sh install" >&2; exit 1; }
done
mkdir -p "$OUT"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

SENTENCES=(
  "The quick brown fox jumps over the lazy dog."
  "Please call Stella and ask her to bring these things with her from the store."
  "It is a beautiful morning and the birds are singing."
  "The meeting has been moved to Thursday at three o'clock."
  "Turn left at the second traffic light and keep going straight."
  "Our train leaves the station in twenty minutes."
  "She sells sea shells by the sea shore."
  "Machine learning models need a lot of data to train well."
  "Could you repeat the last sentence a little more slowly?"
  "The weather forecast says it will rain tomorrow afternoon."
  "I would like a cup of coffee with milk and no sugar."
  "The library closes at eight in the evening on weekdays."
  "Remember to back up your files before installing the update."
  "A journey of a thousand miles begins with a single step."
  "The children played football in the park until sunset."
  "Please send me the report by the end of the day."
  "The museum has a large collection of ancient pottery."
  "He forgot his umbrella on the bus this morning."
  "Speech recognition turns spoken words into written text."
  "The cat is sleeping on the warm windowsill."
  "We need three apples, two lemons and a loaf of bread."
  "The conference will be held in a small town by the lake."
  "Every evening she reads a chapter of her favourite novel."
  "Thank you for listening, and have a nice day."
)

# file name | how to make it from the 22.05 kHz mono 16-bit espeak-ng output ($1 in, $2 out)
sox_to() { sox -q "$1" "${@:3}" "$2"; }
ff_to() { ffmpeg -nostdin -hide_banner -loglevel error -y -i "$1" "${@:3}" "$2"; }
make() {
  local i="$1" in="$2" out="$OUT/$3"
  case "$3" in
    *-pcm16-22k-mono.wav) cp "$in" "$out" ;;
    *-pcm16-44k-stereo.wav) sox_to "$in" "$out" -r 44100 -c 2 -b 16 -e signed-integer ;;
    *-pcm24-48k-stereo.wav) sox_to "$in" "$out" -r 48000 -c 2 -b 24 -e signed-integer ;;
    *-float32-16k-mono.wav) sox_to "$in" "$out" -r 16000 -c 1 -b 32 -e floating-point ;;
    *-float64-32k-mono.wav) sox_to "$in" "$out" -r 32000 -c 1 -b 64 -e floating-point ;;
    *-pcm8-8k-mono.wav) sox_to "$in" "$out" -r 8000 -c 1 -b 8 -e unsigned-integer ;;
    *-pcm32-24k-mono.wav) sox_to "$in" "$out" -r 24000 -c 1 -b 32 -e signed-integer ;;
    *-44k-stereo.mp3) ff_to "$in" "$out" -ar 44100 -ac 2 -c:a libmp3lame -b:a 128k ;;
    *-16k-mono.mp3) ff_to "$in" "$out" -ar 16000 -ac 1 -c:a libmp3lame -b:a 64k ;;
    *-44k-stereo.flac) ff_to "$in" "$out" -ar 44100 -ac 2 -c:a flac ;;
    *-16k-mono.flac) ff_to "$in" "$out" -ar 16000 -ac 1 -c:a flac ;;
    *-48k-stereo.ogg) ff_to "$in" "$out" -ar 48000 -ac 2 -c:a libvorbis -q:a 5 ;;
    *-22k-mono.ogg) ff_to "$in" "$out" -c:a libvorbis -q:a 4 ;;
    *-mp3-named.wav) ff_to "$in" "$TMP/$i.mp3" -c:a libmp3lame -b:a 96k && mv "$TMP/$i.mp3" "$out" ;;
    *) echo "make-samples: no recipe for $3" >&2; return 1 ;;
  esac
}

NAMES=(
  pcm16-22k-mono.wav pcm16-44k-stereo.wav pcm24-48k-stereo.wav float32-16k-mono.wav float64-32k-mono.wav pcm8-8k-mono.wav
  pcm32-24k-mono.wav 44k-stereo.mp3 16k-mono.mp3 44k-stereo.flac 16k-mono.flac 48k-stereo.ogg 22k-mono.ogg mp3-named.wav
  pcm16-22k-mono.wav 44k-stereo.mp3 44k-stereo.flac 48k-stereo.ogg pcm16-44k-stereo.wav pcm24-48k-stereo.wav
  float32-16k-mono.wav 16k-mono.mp3 16k-mono.flac 22k-mono.ogg
)
VOICES=(en-us en-gb en-us+f3 en-gb-x-rp en-us+m3 en-gb-scotland)

printf 'file\tformat\ttext\n' >"$OUT/samples.tsv"
for i in "${!SENTENCES[@]}"; do
  n="$(printf '%02d' "$i")"
  voice="${VOICES[$((i % ${#VOICES[@]}))]}"
  speed=$((150 + (i % 4) * 15))
  espeak-ng -v "$voice" -s "$speed" -w "$TMP/$n.wav" "${SENTENCES[$i]}"
  name="sample-$n-${NAMES[$i]}"
  make "$n" "$TMP/$n.wav" "$name"
  printf '%s\t%s\t%s\n' "$name" "${NAMES[$i]}" "${SENTENCES[$i]}" >>"$OUT/samples.tsv"
done
echo "make-samples: ${#SENTENCES[@]} clips in $OUT"
