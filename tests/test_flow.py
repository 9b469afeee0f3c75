import os
import urllib.error

import cv2
import numpy as np
import pytest
import torch

from posetrack.errors import PosetrackError
from posetrack.track.flow import make_flow

SHIFT = (3.4, -2.3)


def _textured_pair(width=320, height=240, shift=SHIFT):
    """A smooth random texture and the same texture translated by ``shift`` pixels (sub-pixel)."""
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur((rng.random((height, width, 3)) * 255).astype(np.float32), (0, 0), 2.0)
    img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    moved = cv2.warpAffine(img, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), (width, height),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return img, moved


@pytest.mark.parametrize("name, options", [
    ("dis", {}), ("dis", {"preset": "ultrafast"}), ("farneback", {}),
    ("dis", {"scale": 0.5}), ("farneback", {"scale": 0.5}),
])
def test_flow_recovers_a_known_translation(name, options):
    prev, frame = _textured_pair(width=321, height=241)  # odd sizes: the reduced scale is not exactly 1/2
    flow = make_flow(name, **options)(prev, frame)
    assert flow.shape == (241, 321, 2) and flow.dtype == np.float32
    inner = flow[40:-40, 40:-40].reshape(-1, 2)
    assert np.abs(np.median(inner, axis=0) - SHIFT).max() < 0.5
    assert np.abs(inner - SHIFT).mean() < 0.5


def test_flow_rejects_frames_of_different_sizes():
    prev, frame = _textured_pair()
    with pytest.raises(PosetrackError, match="one size"):
        make_flow("dis")(prev, frame[:100])


def test_unknown_flow_and_preset_are_user_errors():
    with pytest.raises(PosetrackError, match="unknown optical flow"):
        make_flow("flownet2s")
    with pytest.raises(PosetrackError, match="unknown DIS preset"):
        make_flow("dis", preset="slow")
    with pytest.raises(PosetrackError, match="scale"):
        make_flow("dis", scale=2)


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_raft_random_weights_give_a_full_resolution_field(scale):
    torch.manual_seed(0)
    prev, frame = _textured_pair(width=70, height=45)  # not multiples of 8: RAFT input gets padded
    raft = make_flow("raft_small", weights=None, scale=scale, iterations=2)
    flow = raft(prev, frame)
    assert flow.shape == (45, 70, 2) and flow.dtype == np.float32
    assert np.isfinite(flow).all()


def test_raft_offline_says_which_file_to_place_where(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # torch hub then lives in tmp_path/hub

    def offline(url, dst, *args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(PosetrackError) as err:
        make_flow("raft_small")
    expected = os.path.join(str(tmp_path), "hub", "checkpoints", "raft_small_C_T_V2-01064c6d.pth")
    assert expected in str(err.value) and "\n" not in str(err.value)
    # Placing a file there (here a random-init state dict of the right architecture) is then enough.
    from torchvision.models.optical_flow import raft_small
    os.makedirs(os.path.dirname(expected), exist_ok=True)
    torch.save(raft_small(weights=None).state_dict(), expected)
    assert make_flow("raft_small").name == "raft_small"
