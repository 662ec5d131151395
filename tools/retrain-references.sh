#!/usr/bin/env bash
# Trains the retrained reference models (the yardstick of unlearning) with each shipped model's own
# recipe, one after the other, on the CPU:  tools/retrain-references.sh [JOB ...]
# A job is MODEL:VARIANT, VARIANT one of without-<set>, without-<set>-seed<N> (the same, training seed N:
# the retrain-to-retrain noise of the yardstick itself), relabel-<set>, full-seed<N>; <set> is a forget
# set of references/MODEL/forget-sets.json (npx tsx tools/forget-sets.ts MODEL writes it).
# Each result lands in references/MODEL/VARIANT/{model.json,weights.bin}; a job whose model.json
# exists is skipped. Needs PyTorch for /usr/bin/python3 (apt-get install python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3

recipe() {
  case "$1" in
    fmnist-resnet8-w16-aug) echo "--arch resnet --depth 8 --width 16 --augment --epochs 60" ;;
    fmnist-cnn16) echo "--arch small_cnn --width 16 --epochs 40" ;;
    *) echo "unknown model $1" >&2; exit 2 ;;
  esac
}

# Most useful first: the demo's forget set, the noise floor, k = 128, the relabelled yardstick, the rest.
DEFAULT_JOBS=(
  fmnist-resnet8-w16-aug:without-k16-s0 fmnist-cnn16:without-k16-s0 fmnist-cnn16:full-seed1
  fmnist-resnet8-w16-aug:full-seed1 fmnist-cnn16:without-k128-s0 fmnist-resnet8-w16-aug:without-k128-s0
  fmnist-cnn16:relabel-k16-s0 fmnist-resnet8-w16-aug:relabel-k16-s0 fmnist-cnn16:without-k16-s1
  fmnist-cnn16:without-k16-s2 fmnist-cnn16:without-k1-s0 fmnist-cnn16:without-k64-s0
  fmnist-resnet8-w16-aug:without-k16-s1 fmnist-resnet8-w16-aug:without-k16-s2 fmnist-resnet8-w16-aug:without-k1-s0
  fmnist-resnet8-w16-aug:without-k64-s0 fmnist-cnn16:full-seed2 fmnist-resnet8-w16-aug:full-seed2
  fmnist-cnn16:without-k16-s0-seed1 fmnist-resnet8-w16-aug:without-k16-s0-seed1
)
JOBS=("$@")
[ ${#JOBS[@]} -eq 0 ] && JOBS=("${DEFAULT_JOBS[@]}")

for job in "${JOBS[@]}"; do
  model=${job%%:*}
  variant=${job#*:}
  out="references/$model/$variant"
  if [ -f "$out/model.json" ]; then echo "== $job: already there"; continue; fi
  if [ -f "$out/weights.export.json" ]; then
    echo "== $job: trained, building the model files"
    npx tsx tools/build-model.ts "$out" && rm -f "$out/weights.export.json"
    continue
  fi
  case "$variant" in
    without-*-seed*) set_seed=${variant##*-seed}; set_name=${variant#without-}; extra=(--without "${set_name%-seed*}" --seed "$set_seed") ;;
    without-*) extra=(--without "${variant#without-}") ;;
    relabel-*) extra=(--relabel "${variant#relabel-}") ;;
    full-seed*) extra=(--seed "${variant#full-seed}") ;;
    *) echo "unknown variant $variant" >&2; exit 2 ;;
  esac
  echo "== $job: $(date -u +%H:%M:%S)"
  # shellcheck disable=SC2046
  $PY tools/train_default_model.py $(recipe "$model") --skip-data --threads "${THREADS:-2}" --log-every 10 \
    --forget-sets "references/$model/forget-sets.json" --out "$out" "${extra[@]}"
  npx tsx tools/build-model.ts "$out"
  rm -f "$out/weights.export.json"
done
echo "== all done: $(date -u +%H:%M:%S)"
