import pytest
import torch

from posetrack.errors import PosetrackError
from posetrack.pose.network import PoseNetConfig, PoseResNet


def _keys(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


@pytest.mark.parametrize("depth,count,blocks", [(50, 282, (3, 4, 6, 3)), (101, 537, (3, 4, 23, 3)),
                                                (152, 792, (3, 8, 36, 3))])
def test_official_key_names_and_counts(depth, count, blocks):
    keys = _keys(PoseResNet(depth=depth))
    assert len(keys) == count
    # The layout of the official pose_resnet.py, key by key for the parts that are not repeated blocks.
    assert keys["conv1.weight"] == (64, 3, 7, 7)
    for stat in ("weight", "bias", "running_mean", "running_var"):
        assert keys[f"bn1.{stat}"] == (64,)
        for i in (1, 4, 7):
            assert keys[f"deconv_layers.{i}.{stat}"] == (256,)
    assert keys["layer1.0.conv1.weight"] == (64, 64, 1, 1)
    assert keys["layer1.0.conv2.weight"] == (64, 64, 3, 3)
    assert keys["layer1.0.conv3.weight"] == (256, 64, 1, 1)
    assert keys["layer1.0.downsample.0.weight"] == (256, 64, 1, 1)
    assert keys["layer4.2.conv3.weight"] == (2048, 512, 1, 1)
    assert keys["deconv_layers.0.weight"] == (2048, 256, 4, 4)
    assert keys["deconv_layers.3.weight"] == keys["deconv_layers.6.weight"] == (256, 256, 4, 4)
    assert keys["final_layer.weight"] == (17, 256, 1, 1) and keys["final_layer.bias"] == (17,)
    assert not any(k in keys for k in ("deconv_layers.0.bias", "deconv_layers.3.bias", "deconv_layers.2.weight"))
    for layer, n in enumerate(blocks, start=1):
        assert f"layer{layer}.{n - 1}.bn3.weight" in keys and f"layer{layer}.{n}.bn3.weight" not in keys
    # The stride sits on the 3x3 conv ("pytorch" style), as torchvision's Bottleneck.
    assert PoseResNet(depth=depth).layer2[0].conv2.stride == (2, 2)


def test_published_parameter_totals():
    totals = {d: sum(p.numel() for p in PoseResNet(depth=d).parameters()) / 1e6 for d in (50, 101, 152)}
    assert round(totals[50], 1) == 34.0 and round(totals[101], 1) == 53.0 and round(totals[152], 1) == 68.6


@pytest.mark.parametrize("kernel", [4, 3, 2])
def test_each_deconv_doubles_the_feature_size(kernel):
    model = PoseResNet(depth=18, deconv_kernels=(kernel,) * 3).eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 256, 192))
    assert out.shape == (1, 17, 64, 48)


def test_two_deconvs_and_other_filters():
    model = PoseResNet(depth=34, deconv_filters=(128, 64), deconv_kernels=(4, 4), num_joints=15).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 3, 128, 96))
    assert out.shape == (2, 15, 16, 12)  # 1/32 -> two doublings -> 1/8
    assert _keys(model)["deconv_layers.3.weight"] == (128, 64, 4, 4)


def test_head_initialisation_matches_official():
    torch.manual_seed(0)
    model = PoseResNet(depth=18)
    w = model.deconv_layers[0].weight
    assert abs(w.std().item() - 0.001) < 1e-4 and abs(w.mean().item()) < 1e-4
    assert torch.all(model.deconv_layers[1].weight == 1) and torch.all(model.deconv_layers[1].bias == 0)
    assert abs(model.final_layer.weight.std().item() - 0.001) < 2e-4
    assert torch.all(model.final_layer.bias == 0)


def test_bad_architecture_is_a_clear_error():
    with pytest.raises(PosetrackError, match="unsupported ResNet depth 42"):
        PoseNetConfig(depth=42)
    with pytest.raises(PosetrackError, match="deconv kernel 5"):
        PoseNetConfig(deconv_kernels=(5, 4, 4))
