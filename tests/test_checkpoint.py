import numpy as np
import pytest
import torch

from posetrack.errors import PosetrackError
from posetrack.pose.checkpoint import PoseModelInfo, load_pose_model, save_checkpoint
from posetrack.pose.network import PoseNetConfig, PoseResNet


@pytest.fixture(scope="module")
def reference():
    torch.manual_seed(0)
    model = PoseResNet(depth=18).eval()
    # Non-trivial BN statistics and head weights so that a wrongly mapped key changes the output.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        model.final_layer.weight.normal_(0, 0.1)
    x = torch.randn(2, 3, 128, 96)
    with torch.no_grad():
        y = model(x)
    return model, x, y


def _official_state(model):
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def _check(path, reference, **kw):
    model, x, y = reference
    loaded, info = load_pose_model(path, **kw)
    with torch.no_grad():
        assert torch.equal(loaded(x), y)
    return info


def test_official_plain_state_dict(tmp_path, reference):
    path = tmp_path / "pose_resnet_18_256x192.pth.tar"
    torch.save(_official_state(reference[0]), path)
    info = _check(path, reference)
    assert info.origin == "official" and info.color_order == "bgr" and info.input_size == (192, 256)
    assert info.arch.depth == 18 and info.arch.deconv_filters == (256, 256, 256)


def test_dataparallel_training_checkpoint(tmp_path, reference):
    path = tmp_path / "checkpoint.pth.tar"
    state = {"module." + k: v for k, v in reference[0].state_dict().items()}
    torch.save({"epoch": 140, "model": "pose_resnet", "state_dict": state, "perf": 0.7}, path)
    info = _check(path, reference, input_size=(96, 128))
    assert info.color_order == "bgr" and info.input_size == (96, 128)


def test_mmpose_0x(tmp_path, reference):
    path = tmp_path / "res18_coco_256x192-0123abcd_20200709.pth"
    state = {}
    for k, v in _official_state(reference[0]).items():
        prefix = "keypoint_head." if k.startswith(("deconv_layers", "final_layer")) else "backbone."
        state[prefix + k] = v
    torch.save({"meta": {"epoch": 210, "mmpose_version": "0.14.0"}, "state_dict": state}, path)
    info = _check(path, reference)
    assert info.origin == "mmpose0" and info.color_order == "rgb"


def test_mmpose_1x_with_numpy_metadata(tmp_path, reference):
    path = tmp_path / "td-hm_res18_8xb64-210e_coco-256x192-04af38ce_20220923.pth"
    state = {"data_preprocessor.mean": torch.tensor([123.675, 116.28, 103.53]),
             "data_preprocessor.std": torch.tensor([58.395, 57.12, 57.375])}
    for k, v in reference[0].state_dict().items():
        prefix = "head." if k.startswith(("deconv_layers", "final_layer")) else "backbone."
        state[prefix + k] = v
    meta = {"dataset_meta": {"sigmas": np.linspace(0.025, 0.107, 17), "flip_indices": [0, 2, 1]}}
    torch.save({"meta": meta, "state_dict": state}, path)
    info = _check(path, reference)
    assert info.origin == "mmpose1" and info.color_order == "rgb"


def test_our_format_is_self_describing(tmp_path, reference):
    path = tmp_path / "ours.pth"
    info = PoseModelInfo(arch=reference[0].config, input_size=(96, 128), layout="coco17", color_order="rgb",
                         meta={"trained_on": "synthetic", "val_ap": 0.5})
    save_checkpoint(path, reference[0], info)
    got = _check(path, reference)
    assert got.input_size == (96, 128) and got.color_order == "rgb" and got.meta["val_ap"] == 0.5
    assert not list(tmp_path.glob("*.tmp"))


def test_half_precision_file_loads(tmp_path, reference):
    path = tmp_path / "half.pth"
    save_checkpoint(path, reference[0], PoseModelInfo(arch=reference[0].config), half=True)
    loaded, _ = load_pose_model(path)
    with torch.no_grad():
        assert torch.allclose(loaded(reference[1]), reference[2], atol=1e-2, rtol=1e-2)


def test_wrong_architecture_names_keys_and_expected_arch(tmp_path, reference):
    path = tmp_path / "pose_resnet_18_256x192.pth.tar"
    torch.save(_official_state(reference[0]), path)
    with pytest.raises(PosetrackError) as err:
        load_pose_model(path, arch=PoseNetConfig(depth=34))
    msg = str(err.value)
    assert "ResNet-34" in msg and "missing layer1.2" in msg
    state = _official_state(reference[0])
    state["final_layer.weight"] = torch.zeros(15, 256, 1, 1)
    torch.save(state, path)
    with pytest.raises(PosetrackError, match="final_layer.bias"):
        load_pose_model(path, layout="posetrack15")


def test_not_a_checkpoint_and_missing_file(tmp_path):
    bad = tmp_path / "notes.pth"
    bad.write_text("hello")
    with pytest.raises(PosetrackError, match="notes.pth: not a PyTorch checkpoint"):
        load_pose_model(bad)
    with pytest.raises(PosetrackError, match="absent.pth: pose weights file not found"):
        load_pose_model(tmp_path / "absent.pth")
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(1)}, other)
    with pytest.raises(PosetrackError, match="not a SimpleBaseline"):
        load_pose_model(other)


class Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def test_code_in_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": Payload()}, path)
    with pytest.raises(PosetrackError, match="builtins.print.*never runs code"):
        load_pose_model(path)
