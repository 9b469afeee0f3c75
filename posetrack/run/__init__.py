"""The commands users run on their videos and data sets: ``posetrack run`` (one video, ``cli``) and
``posetrack batch`` (a data set, resumable, split across torchrun ranks: ``batch``). The work is
``posetrack.pipeline``'s; this package turns a command line into pipeline runs and their summaries."""
