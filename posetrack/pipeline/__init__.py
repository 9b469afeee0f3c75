"""The whole system of the paper, one video at a time:

    frames ─▶ detector (batched over frames) ─▶ joint propagation + box unification (§3.1, §3.3)
           ─▶ pose estimator (§2) ─▶ flow-based id assignment (§3.2, Algorithm 1) ─▶ partial JSONL, overlay video
           ─▶ final JSON (PoseTrack 2018 / 2017 or COCO)

* ``engine``: ``Pipeline(config)`` loads the models once; ``run_sequence(job, out_dir)`` runs one sequence.
* ``sequence``: ``SequenceRun``, one sequence's state and its frame loop.
* ``feeds``: what each frame brings (detector boxes or given poses); ``inputs``: what a run reads (videos, image
  folders, PoseTrack sequences); ``outputs``: the crash-safe partial file and the final files streamed from it.
* ``shards`` and ``sharded``: one video split across processes (torchrun ranks or ``posetrack run --shards K``),
  each tracking a chunk plus an overlap, ids stitched on the overlap.
* ``overlap``: flow, detector batches and overlay encoding on their own threads (``run.overlap``, same results);
  ``timing``: ms per frame of each stage.

The tracker works in the PoseTrack 2018 joint slots: a COCO network's output is converted, with the head joints
estimated (``layouts.convert_keypoints``).
"""
from .engine import Pipeline, tracker_config
from .estimate import PoseStage, load_estimator
from .inputs import SequenceJob, discover_jobs, open_frames
from .outputs import OutputPaths, ensure_writable, read_partial, refuse_replacing_input
from .resume import remove_finished_leftovers
from .sequence import SequenceResult, SequenceRun
from .timing import STAGES, StageTimes

__all__ = ["OutputPaths", "Pipeline", "PoseStage", "STAGES", "SequenceJob", "SequenceResult", "SequenceRun",
           "StageTimes", "discover_jobs", "ensure_writable", "load_estimator", "open_frames", "read_partial",
           "refuse_replacing_input", "remove_finished_leftovers", "tracker_config"]
