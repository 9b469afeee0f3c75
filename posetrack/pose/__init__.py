"""Pose estimation (§2 of the paper): the SimpleBaseline network (``network``), its checkpoints of every origin
(``checkpoint``) and named weights (``weights``), the official crop (``transforms``), heatmap decoding with flip
test and rescoring (``decode``), and ``estimator.PoseEstimator``, which takes a frame and person boxes and returns
keypoints in frame pixels."""
