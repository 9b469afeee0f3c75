from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
import yaml

from posetrack.config import (DetectorConfig, PipelineConfig, config_from_dict, config_to_dict, dump_config,
                              find_config, load_config)
from posetrack.errors import PosetrackError

SHIPPED = ["paper_r50_256x192", "paper_r152_384x288", "fast_cpu"]


def test_defaults_follow_the_paper():
    config = load_config(PipelineConfig)
    assert config.detector.score_threshold == 0.5 and config.video.kpt_threshold == 0.4  # §4.2
    assert config.detector.variant == "resnet50_fpn" and config.detector.weights is None
    assert config.pose.weights == "mmpose_res50_coco_256x192" and config.pose.flip_test
    assert (config.pose.batch_size, config.pose.fp16, config.pose.bf16) == (64, True, False)
    assert (config.run.device, config.run.output_format, config.run.folder_fps) == ("auto", "posetrack18", 25)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_load_and_round_trip(tmp_path, name):
    config = load_config(PipelineConfig, name)
    path = tmp_path / "recorded.yaml"
    dump_config(config, path)
    assert load_config(PipelineConfig, path) == config
    assert config_from_dict(PipelineConfig, config_to_dict(config)) == config
    assert yaml.safe_load(path.read_text()) == config_to_dict(config)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_tracker_sections_fit_the_tracker_config(name):
    from posetrack.track import TrackerConfig

    section = load_config(PipelineConfig, name).tracker
    assert isinstance(section, TrackerConfig)
    written = yaml.safe_load(find_config(name).read_text()).get("tracker", {})
    assert written and all(getattr(section, key) == value for key, value in written.items())
    with pytest.raises(PosetrackError, match="flow_preset"):
        load_config(PipelineConfig, name, ["tracker.flow_presett=fast"])


def test_specific_shipped_choices():
    fast = load_config(PipelineConfig, "fast_cpu")
    assert fast.detector.variant.startswith("mobilenet_v3_large") and fast.detector.min_size <= 320
    assert not fast.pose.flip_test and fast.tracker.flow_preset == "ultrafast"
    assert load_config(PipelineConfig, "paper_r152_384x288").pose.weights == "mmpose_res152_coco_384x288"


def test_overrides_are_typed_and_applied_in_any_order(tmp_path):
    config = load_config(PipelineConfig, "paper_r50_256x192", [
        "detector.file=dets.json", "detector.source=file",  # valid only together: checked after all are in
        "detector.min_size=600", "detector.score_threshold=1", "pose.flip_test=false", "run.device=cuda:1",
        "tracker.flow_preset=fast", "pose.weights=2024", "detector={variant: mobilenet_v3_large_fpn}"])
    assert (config.detector.source, config.detector.file, config.detector.min_size) == ("file", "dets.json", 600)
    assert config.detector.score_threshold == 1.0 and isinstance(config.detector.score_threshold, float)
    assert config.detector.variant == "mobilenet_v3_large_fpn" and config.detector.max_size == 1333
    assert config.pose.flip_test is False and config.run.device == "cuda:1"
    assert config.tracker.flow_preset == "fast" and config.tracker.similarity == "multiflow"
    assert config.pose.weights == "2024"


@pytest.mark.parametrize("override,message", [
    ("detector.min_size=big", "detector.min_size must be an integer, got str 'big'"),
    ("pose.flip_test=1", "pose.flip_test must be true or false"),
    ("detector.min_size=1.5", "must be an integer"),
    ("run.read_ahead=[1, 2]", "must be an integer, got a list"),
    ("detector.variant=resnet50fpn", "did you mean 'resnet50_fpn'"),
    ("detector.scor_threshold=0.3", "unknown key detector.scor_threshold; did you mean detector.score_threshold"),
    ("detektor.min_size=3", "did you mean detector"),
    ("detector.score_threshold=1.5", "score_threshold must be in [0, 1]"),
    ("detector.source=gt", "needs detector.file"),
    ("run.device=gpu", "run.device must be auto, cpu, cuda or cuda:N"),
    ("pose.weights.name=x", "pose.weights is a str"),
    ("min_size", "expected KEY=VALUE"),
])
def test_bad_overrides_name_the_override(override, message):
    with pytest.raises(PosetrackError) as err:
        load_config(PipelineConfig, None, [override])
    assert message in str(err.value) and f"--set {override}" in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_keys_and_bad_values_in_a_file_name_file_and_key(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("detector:\n  variant: resnet50_fpn\n  score_treshold: 0.3\n")
    with pytest.raises(PosetrackError, match=r"mine.yaml: unknown key detector.score_treshold; did you mean "
                                             r"detector.score_threshold\?"):
        load_config(PipelineConfig, path)
    path.write_text("poze:\n  flip_test: false\n")
    with pytest.raises(PosetrackError, match="unknown key poze; did you mean pose"):
        load_config(PipelineConfig, path)
    path.write_text("video:\n  trails: ten\n")
    with pytest.raises(PosetrackError, match=r"mine.yaml: video.trails must be an integer, got str 'ten'"):
        load_config(PipelineConfig, path)
    path.write_text("video: [1, 2]\n")
    with pytest.raises(PosetrackError, match="video must be a mapping"):
        load_config(PipelineConfig, path)
    path.write_text("detector:\n  min_size: [\n")
    with pytest.raises(PosetrackError, match=r"mine.yaml: line \d+ not valid YAML"):
        load_config(PipelineConfig, path)
    with pytest.raises(PosetrackError, match="not found: not a file, nor one of the shipped configs .*fast_cpu"):
        load_config(PipelineConfig, tmp_path / "absent.yaml")


def test_empty_file_gives_defaults_and_find_config_takes_names_and_paths(tmp_path):
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    assert load_config(PipelineConfig, tmp_path / "empty.yaml") == PipelineConfig()
    assert find_config("fast_cpu").name == "fast_cpu.yaml"
    assert find_config(tmp_path / "empty.yaml") == Path(tmp_path / "empty.yaml")


@dataclass
class _Optim:
    lr: float = 1e-3
    steps: tuple[int, ...] = (90, 120)
    kind: Literal["adam", "sgd"] = "adam"


@dataclass
class _Train:
    optim: _Optim = field(default_factory=_Optim)
    layers: list[int] = field(default_factory=lambda: [3, 4])
    size: tuple[int, int] = (192, 256)
    resume: str | None = None
    extra: dict[str, float] = field(default_factory=dict)


def test_generic_loader_on_any_nested_dataclass(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("optim:\n  lr: 1\n  steps: [10, 20, 30]\nsize: [288, 384]\nextra: {warmup: 2}\n")
    config = load_config(_Train, path, ["optim.kind=sgd", "layers=[1, 2]", "resume=ckpt.pth"])
    assert config == _Train(_Optim(1.0, (10, 20, 30), "sgd"), [1, 2], (288, 384), "ckpt.pth", {"warmup": 2.0})
    dumped = tmp_path / "dumped.yaml"
    dump_config(config, dumped)
    assert load_config(_Train, dumped) == config
    with pytest.raises(PosetrackError, match="size needs 2 values, got 3"):
        load_config(_Train, None, ["size=[1, 2, 3]"])
    with pytest.raises(PosetrackError, match=r"extra.warmup must be a number"):
        load_config(_Train, None, ["extra.warmup=soon"])
    with pytest.raises(PosetrackError, match=r"resume must be a string, got boolean true"):
        load_config(_Train, None, ["resume=yes"])


def test_direct_construction_still_checks_values():
    with pytest.raises(ValueError, match="batch_size"):
        DetectorConfig(batch_size=0)


def test_training_recipes_are_checked_when_loaded():
    from posetrack.config import CONFIG_DIRS
    from posetrack.train.recipe import DetectorTrainConfig, TrainConfig

    cases = [
        (TrainConfig, "model.bn=froze",
         "model.bn must be one of train, sync, frozen, got 'froze'; did you mean 'frozen'?"),
        (TrainConfig, "optim.name=adm", "optim.name must be one of adam, adamw, sgd, got 'adm'; did you mean 'adam'?"),
        (TrainConfig, "data.train.format=posetrack", "data.train.format must be one of coco, coco-file, posetrack18"),
        (TrainConfig, "model.input_size=[100,256]", "model.input_size [100, 256]: width and height must be multiples"),
        (TrainConfig, "optim.epochs=0", "optim.epochs and optim.batch_size must be at least 1"),
        (TrainConfig, "optim.lrr=0.1", "unknown key optim.lrr; did you mean optim.lr?"),
        (DetectorTrainConfig, "model.variant=resnet50", "model.variant must be one of resnet50_fpn, resnet50_fpn_v2, "
                                                       "mobilenet_v3_large_fpn, got 'resnet50'; did you mean"),
    ]
    for cls, override, message in cases:
        with pytest.raises(PosetrackError) as err:
            load_config(cls, None, [override])
        assert str(err.value).startswith(f"--set {override}: ") and message in str(err.value), str(err.value)
    # Every shipped recipe loads as it is.
    recipes = sorted(p for p in (CONFIG_DIRS[0]).glob("*/*.yaml"))
    assert len(recipes) >= 15
    for path in recipes:
        cls = DetectorTrainConfig if "detector" in path.stem or "fasterrcnn" in path.stem else TrainConfig
        load_config(cls, path)
