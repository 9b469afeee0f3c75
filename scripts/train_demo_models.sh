#!/usr/bin/env bash
# Rebuild the packaged demo models (posetrack/data/demo_pose.pth, demo_detector.pth) from nothing:
#   1. render the synthetic training and validation data with fixed seeds (posetrack.demo.world);
#   2. train the pose network and the detector at the same time on one GPU, from the committed configs
#      configs/synthetic/pose_r18_128x96.yaml and configs/synthetic/detector_mobilenet_320.yaml; then the
#      detector's second stage, configs/synthetic/detector_mobilenet_320_finetune.yaml (the learning-rate drop
#      the first run's cap cut off; 480 steps of 8 images, about 20 minutes on 2 CPU cores), and the pose
#      network's, configs/synthetic/pose_r18_192x128_finetune.yaml (the same weights fine-tuned at a 128x192
#      input; 800 steps of 48 crops, about 30 minutes on 2 CPU cores) and its third,
#      configs/synthetic/pose_r18_192x128_stage3.yaml (2 000 steps at the official learning rate, where it learns
#      left from right; about 75 minutes on 2 CPU cores);
#   2e. issue 19's stages: render the whole range of `posetrack synth` options with hard negatives (people-free
#      scenes, OpenCV's people-free sample photos) and, for the detector, 16 parts of the demo world's own
#      training data mixed back in (`python -m posetrack.demo.hard --world-parts 16`), then the detector's third
#      stage, configs/synthetic/detector_mobilenet_320_hard.yaml (240 steps of 8 images, about 10 minutes on 2
#      CPU cores), and the pose network's fourth on the hard parts, configs/synthetic/pose_r18_192x128_hard.yaml
#      (210 steps of 48 crops at a low learning rate, about 25-35 minutes on the CPU);
#   3. export both as fp16 files with their config, validation numbers and loss curve inside. With
#      DEMO_CALIBRATE=1 the detector's scores are also calibrated on the hard data's `calib` split
#      (scripts/calibrate_detector.py: Platt scaling baked into the box predictor and recorded in the file;
#      not in the shipped file: it cost held-out mAP, README "Beyond the demo's own clips").
#
#   scripts/train_demo_models.sh                 # the shipped models (one H100: ~8 minutes, then ~35 on a CPU)
#   DEMO_TINY=1 scripts/train_demo_models.sh     # smoke run on a CPU: tiny data, a few steps
#
# Environment: DEMO_DATA (data/synthetic), HARD_DATA (data/hard), PHOTOS (/usr/share/doc/opencv-doc/examples/data:
# Debian's opencv-doc), DEMO_RUNS (runs), DEMO_DEST (posetrack/data), DEMO_JOBS (16 render processes),
# POSE_SECONDS / DETECTOR_SECONDS / FINETUNE_SECONDS / STAGE3_SECONDS / HARD_SECONDS (wall-clock caps; a capped
# run exports its best or last epoch).
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${DEMO_DATA:-data/synthetic}
RUNS=${DEMO_RUNS:-runs}
DEST=${DEMO_DEST:-posetrack/data}
JOBS=${DEMO_JOBS:-16}
POSE_SECONDS=${POSE_SECONDS:-600}
DETECTOR_SECONDS=${DETECTOR_SECONDS:-600}
FINETUNE_SECONDS=${FINETUNE_SECONDS:-3600}
STAGE3_SECONDS=${STAGE3_SECONDS:-7200}
HARD_SECONDS=${HARD_SECONDS:-3600}
HARD_DATA=${HARD_DATA:-data/hard}
PHOTOS=${PHOTOS:-/usr/share/doc/opencv-doc/examples/data}
POSE_CONFIG=configs/synthetic/pose_r18_128x96.yaml
DETECTOR_CONFIG=configs/synthetic/detector_mobilenet_320.yaml
FINETUNE_CONFIG=configs/synthetic/detector_mobilenet_320_finetune.yaml
POSE_FINETUNE_CONFIG=configs/synthetic/pose_r18_192x128_finetune.yaml
POSE_STAGE3_CONFIG=configs/synthetic/pose_r18_192x128_stage3.yaml
DETECTOR_HARD_CONFIG=configs/synthetic/detector_mobilenet_320_hard.yaml
POSE_HARD_CONFIG=configs/synthetic/pose_r18_192x128_hard.yaml

pose_set=() detector_set=() finetune_set=() pose_finetune_set=() pose_stage3_set=()
hard_set=(--set "data.train.annotations=$HARD_DATA/annotations/person_keypoints_hard.json"
          --set "data.train.images=$HARD_DATA"
          --set "data.val.annotations=$HARD_DATA/annotations/person_keypoints_hardval.json"
          --set "data.val.images=$HARD_DATA")
pose_hard_set=(--set "data.train.root=$HARD_DATA" --set "data.val.root=$HARD_DATA")
if [[ "$DATA" != data/synthetic ]]; then
  pose_set+=(--set "data.train.root=$DATA" --set "data.val.root=$DATA")
  detector_set+=(--set "data.train.annotations=$DATA/annotations/person_keypoints_train.json"
                 --set "data.train.images=$DATA" --set "data.val.annotations=$DATA/annotations/person_keypoints_val.json"
                 --set "data.val.images=$DATA")
fi
if [[ -n "${DEMO_TINY:-}" ]]; then
  world=(--parts 2 --sequences 2 --frames 8 --val-sequences 1 --val-frames 8 --jobs 2)
  pose_set+=(--set optim.epochs=2 --set optim.max_iters_per_epoch=2 --set optim.batch_size=8 --set data.workers=1
             --set val.every=1 --set val.batch_size=16 --set optim.milestones=[1])
  detector_set+=(--set optim.epochs=2 --set optim.max_iters_per_epoch=2 --set optim.batch_size=2
                 --set data.workers=1 --set val.every=1 --set val.max_images=4 --set optim.warmup_iters=2
                 --set optim.milestones=[1])
  finetune_set=(--set optim.epochs=1 --set optim.max_iters_per_epoch=2 --set optim.batch_size=2 --set val.every=1
                --set val.max_images=4 --set optim.milestones=[1])
  pose_finetune_set=(--set optim.epochs=1 --set optim.max_iters_per_epoch=2 --set optim.batch_size=8
                     --set val.batch_size=16 --set optim.milestones=[1])
  pose_stage3_set=("${pose_finetune_set[@]}" --set val.every=1)
  hard=(--parts 5 --sequences 1 --frames 2 --val-parts 1 --calib-parts 2 --world-parts 2 --world-sequences 1
        --world-frames 4)
  hard_set+=("${finetune_set[@]}")
  pose_hard_set+=("${pose_finetune_set[@]}" --set val.every=1)
else
  world=(--parts 16 --sequences 30 --frames 40 --val-sequences 4 --val-frames 40 --jobs "$JOBS")
  hard=(--world-parts 16 --world-sequences 4 --world-frames 40)
fi

start=$(date +%s)
echo "== 1/3 synthetic data -> $DATA"
python -m posetrack.demo.world train "$DATA" "${world[@]}"
echo "   $(( $(date +%s) - start )) s"

echo "== 2/3 training (pose in the background, detector in the foreground)"
rm -rf "$RUNS/demo_pose" "$RUNS/demo_detector"
mkdir -p "$RUNS"
# A wall-clock cap stops a run between checkpoints at worst: last.pth is written atomically every epoch.
timeout "$POSE_SECONDS" python -m posetrack train "$POSE_CONFIG" --out "$RUNS/demo_pose" -q "${pose_set[@]}" \
  >"$RUNS/pose.log" 2>&1 &
pose_pid=$!
detector_rc=0
timeout "$DETECTOR_SECONDS" python -m posetrack train-detector "$DETECTOR_CONFIG" --out "$RUNS/demo_detector" -q \
  "${detector_set[@]}" >"$RUNS/detector.log" 2>&1 || detector_rc=$?
pose_rc=0
wait "$pose_pid" || pose_rc=$?
echo "   pose exit $pose_rc, detector exit $detector_rc (124: stopped by the cap); $(( $(date +%s) - start )) s"
tail -n 3 "$RUNS/pose.log" "$RUNS/detector.log"

# A later stage: COMMAND CONFIG FROM TO LOG CAP [--set ...], started from run FROM's best (else last) checkpoint
# into run TO. Leaves its exit code in stage_rc (124: stopped by the cap).
later_stage() {
  local command=$1 config=$2 from=$3 to=$4 log=$5 cap=$6
  shift 6
  rm -rf "${RUNS:?}/$to"
  stage_rc=0
  timeout "$cap" python -m posetrack "$command" "$config" --out "$RUNS/$to" -q \
    --set "model.init=$(ls "$RUNS/$from"/best.pth 2>/dev/null || echo "$RUNS/$from/last.pth")" "$@" \
    >"$RUNS/$log" 2>&1 || stage_rc=$?
  echo "   exit $stage_rc; $(( $(date +%s) - start )) s"
  tail -n 2 "$RUNS/$log"
}

echo "== 2b/3 detector second stage from $RUNS/demo_detector"
later_stage train-detector "$FINETUNE_CONFIG" demo_detector demo_detector_finetune detector_finetune.log \
  "$FINETUNE_SECONDS" "${detector_set[@]}" "${finetune_set[@]}"
finetune_rc=$stage_rc

echo "== 2c/3 pose second stage (128x192 input) from $RUNS/demo_pose"
later_stage train "$POSE_FINETUNE_CONFIG" demo_pose demo_pose_192x128 pose_finetune.log "$FINETUNE_SECONDS" \
  "${pose_set[@]}" "${pose_finetune_set[@]}"

echo "== 2d/3 pose third stage (learning rate 1e-3) from $RUNS/demo_pose_192x128"
later_stage train "$POSE_STAGE3_CONFIG" demo_pose_192x128 demo_pose_stage3 pose_stage3.log "$STAGE3_SECONDS" \
  "${pose_set[@]}" "${pose_stage3_set[@]}"
pose_stage3_rc=$stage_rc

echo "== 2e/3 the whole synth range with hard negatives (and the demo world, for the detector) -> $HARD_DATA"
photos=()
[[ -d "$PHOTOS" ]] && photos=(--photos "$PHOTOS")  # without opencv-doc: synthetic negatives only
python -m posetrack.demo.hard "$HARD_DATA" "${hard[@]}" "${photos[@]}"

echo "== 2f/3 detector third stage (hard negatives) from $RUNS/demo_detector_finetune"
later_stage train-detector "$DETECTOR_HARD_CONFIG" demo_detector_finetune demo_detector_hard detector_hard.log \
  "$HARD_SECONDS" "${hard_set[@]}"
detector_hard_rc=$stage_rc

echo "== 2g/3 pose fourth stage (the whole synth range) from $RUNS/demo_pose_stage3"
later_stage train "$POSE_HARD_CONFIG" demo_pose_stage3 demo_pose_hard pose_hard.log "$HARD_SECONDS" \
  "${pose_hard_set[@]}"
pose_hard_rc=$stage_rc

echo "== 3/3 export -> $DEST"
mkdir -p "$DEST"
python -m posetrack.demo.export pose "$RUNS/demo_pose_hard" "$DEST/demo_pose.pth" \
  --first-stage "$RUNS/demo_pose" --second-stage "$RUNS/demo_pose_192x128" --third-stage "$RUNS/demo_pose_stage3" \
  --note "config_file=$POSE_HARD_CONFIG" --note "exit_code=$pose_hard_rc"
python -m posetrack.demo.export detector "$RUNS/demo_detector_hard" "$DEST/demo_detector.pth" \
  --first-stage "$RUNS/demo_detector" --second-stage "$RUNS/demo_detector_finetune" \
  --note "config_file=$DETECTOR_HARD_CONFIG" --note "exit_code=$detector_hard_rc"
if [[ -n "${DEMO_CALIBRATE:-}" ]]; then  # a few steps (DEMO_TINY) find no one: nothing to calibrate, said in one line
  python scripts/calibrate_detector.py "$DEST/demo_detector.pth" "$HARD_DATA" calib \
    -o "$DEST/demo_detector_calibrated.pth" || [[ -n "${DEMO_TINY:-}" ]]
fi
echo "done in $(( $(date +%s) - start )) s"
