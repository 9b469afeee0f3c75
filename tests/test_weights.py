import hashlib
import os

import pytest
import torch

from posetrack.cli import main
from posetrack.errors import PosetrackError
from posetrack.pose import weights as W
from posetrack.pose.network import PoseResNet


class _Result:
    def __init__(self, returncode, captured):
        self.returncode, self.stdout, self.stderr = returncode, captured.out, captured.err


@pytest.fixture
def run_cli(capsys):
    """The real ``posetrack`` entry point in-process (a subprocess would spend seconds importing torch)."""
    def run(*args):
        code = main(list(args))
        return _Result(code, capsys.readouterr())
    return run


def _mmpose_style_file(folder, depth=18):
    state = {("head." if k.startswith(("deconv", "final")) else "backbone.") + k: v
             for k, v in PoseResNet(depth=depth).state_dict().items()}
    tmp = folder / "tmp.pth"
    torch.save({"state_dict": state}, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = folder / f"td-hm_res{depth}_coco-256x192-{digest[:8]}_20220923.pth"
    tmp.rename(path)
    return path, digest


def test_registry_has_the_published_checkpoints():
    names = set(W.REGISTRY)
    for depth in (50, 101, 152):
        for size in ("256x192", "384x288"):
            assert f"official_res{depth}_coco_{size}" in names
            assert f"mmpose0_res{depth}_coco_{size}" in names
    e = W.REGISTRY["mmpose_res50_coco_256x192"]
    assert e.hash_prefix == "04af38ce" and e.url.endswith(e.file_name) and e.color_order == "rgb"
    assert W.REGISTRY["official_res152_coco_384x288"].url is None
    assert W.REGISTRY["official_res152_coco_384x288"].input_size == (288, 384)


def test_download_checks_hash_and_renames(tmp_path, monkeypatch):
    src, _ = _mmpose_style_file(tmp_path)
    entry = W.WeightsEntry("test_entry", src.name, 18, (192, 256), "coco17", "rgb", src.as_uri())
    monkeypatch.setitem(W.REGISTRY, "test_entry", entry)
    path = W.download("test_entry", progress=False)
    assert path == W.weights_dir() / src.name and path.read_bytes() == src.read_bytes()
    assert list(path.parent.iterdir()) == [path]  # no temporary left behind
    assert W.resolve("test_entry")[0] == path

    bad_name = src.name.replace(src.name.split("-")[-1][:8], "deadbeef")
    os.rename(src, tmp_path / bad_name)
    bad = W.WeightsEntry("bad_entry", bad_name, 18, (192, 256), "coco17", "rgb", (tmp_path / bad_name).as_uri())
    monkeypatch.setitem(W.REGISTRY, "bad_entry", bad)
    with pytest.raises(PosetrackError, match="does not match its hash prefix deadbeef"):
        W.download("bad_entry", progress=False)
    assert not (W.weights_dir() / bad_name).exists()


def test_offline_download_says_where_to_put_the_file(monkeypatch):
    entry = W.WeightsEntry("offline", "x-0123abcd_2020.pth", 50, (192, 256), "coco17", "rgb",
                           "http://127.0.0.1:9/x-0123abcd_2020.pth")  # loopback discard port: refused at once
    monkeypatch.setitem(W.REGISTRY, "offline", entry)
    with pytest.raises(PosetrackError, match=r"could not download offline .*place it at .*x-0123abcd_2020.pth"):
        W.download("offline", progress=False)


def test_cli_download_of_manual_entry_and_unknown_name(run_cli):
    r = run_cli("weights", "download", "official_res50_coco_256x192")
    assert r.returncode == 2 and "pose_resnet_50_256x192.pth.tar" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_cli("weights", "download", "res50")
    assert r.returncode == 2 and "did you mean" in r.stderr


def test_cli_list_and_verify(tmp_path, run_cli):
    r = run_cli("weights", "list")
    assert r.returncode == 0 and "mmpose_res50_coco_256x192" in r.stdout and "manual" in r.stdout
    path, digest = _mmpose_style_file(tmp_path)
    r = run_cli("weights", "verify", str(path))
    assert r.returncode == 0, r.stderr
    assert f"sha256 ok ({digest[:8]})" in r.stdout and "ResNet-18" in r.stdout and "rgb" in r.stdout
    corrupt = tmp_path / path.name.replace(digest[:8], "0" * 8)
    corrupt.write_bytes(path.read_bytes())
    r = run_cli("weights", "verify", str(corrupt))
    assert r.returncode == 1 and "does not start with 00000000" in r.stderr and "Traceback" not in r.stderr
