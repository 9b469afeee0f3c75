"""Training: the paper's COCO recipe, PoseTrack fine-tuning (§4.1, §4.2) and person-detector fine-tuning.

``PoseTrainer(TrainConfig)`` and ``DetectorTrainer(DetectorTrainConfig)`` are the entry points; the
``posetrack train`` and ``posetrack train-detector`` commands load their configs from YAML (``configs/coco``,
``configs/posetrack``) and run them in one process or many (torchrun).
"""
