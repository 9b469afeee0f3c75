"""The offline demo: small networks trained on the synthetic world, shipped in ``posetrack/data``, and
``posetrack demo``, which runs the whole pipeline with them on freshly rendered clips and scores the result.

* ``world``: the synthetic scenes of the training set (``scripts/train_demo_models.sh``) and of the demo clips;
* ``export``: a training run's checkpoint -> the packaged fp16 file, with its config and numbers inside;
* ``runner``/``cli``: ``posetrack demo``.
"""
