"""Named pose weights: where each file comes from, what it is, and where it lives on disk.

Files live in ``$POSETRACK_HOME/weights`` (default ``~/.cache/posetrack/weights``). mmpose files download by URL;
their names carry the start of their SHA-256 (``...-04af38ce_20220923.pth``), which the download checks. The
official Simple Baselines files are hosted on OneDrive / Google Drive folders that cannot be fetched by script, so
their entries say where to get them and where to put them.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import PosetrackError

OFFICIAL_FOLDERS = ("https://1drv.ms/f/s!AhIXJn_J-blW0D5ZE4ArK9wk_fvw (OneDrive) or "
                    "https://drive.google.com/drive/folders/13_wJ6nC7my1KKouMkQMqyr9r1ZnLnukP (Google Drive), "
                    "folder pose_coco/")
_MMPOSE1 = "https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/topdown_heatmap/coco/"
_MMPOSE0 = "https://download.openmmlab.com/mmpose/top_down/resnet/"


@dataclass(frozen=True)
class WeightsEntry:
    name: str
    file_name: str
    depth: int
    input_size: tuple[int, int]  # (width, height)
    layout: str
    color_order: str
    url: str | None = None
    coco_ap: float | None = None  # published COCO val2017 AP (detector person AP 56.4, flip test)
    note: str = ""

    @property
    def hash_prefix(self) -> str | None:
        return hash_prefix_from_name(self.file_name)


def _entries() -> dict[str, WeightsEntry]:
    out = {}
    official_ap = {(50, 256): 70.4, (50, 384): 72.2, (101, 256): 71.4, (101, 384): 73.6, (152, 256): 72.0,
                   (152, 384): 74.3}
    for depth in (50, 101, 152):
        for h, w in ((256, 192), (384, 288)):
            name = f"official_res{depth}_coco_{h}x{w}"
            out[name] = WeightsEntry(name, f"pose_resnet_{depth}_{h}x{w}.pth.tar", depth, (w, h), "coco17", "bgr",
                                     coco_ap=official_ap[(depth, h)], note="official Simple Baselines (manual)")
    v1 = {(50, 256): ("td-hm_res50_8xb64-210e_coco-256x192-04af38ce_20220923.pth", 71.8),
          (50, 384): ("td-hm_res50_8xb64-210e_coco-384x288-7b8db90e_20220923.pth", 73.1),
          (101, 256): ("td-hm_res101_8xb64-210e_coco-256x192-065d3625_20220926.pth", 72.8),
          (152, 256): ("td-hm_res152_8xb32-210e_coco-256x192-0345f330_20220928.pth", 73.6),
          (152, 384): ("td-hm_res152_8xb32-210e_coco-384x288-7fbb906f_20220927.pth", 75.0)}
    for (depth, h), (file_name, ap) in v1.items():
        w = h * 3 // 4
        name = f"mmpose_res{depth}_coco_{h}x{w}"
        out[name] = WeightsEntry(name, file_name, depth, (w, h), "coco17", "rgb", _MMPOSE1 + file_name, ap,
                                 "mmpose 1.x")
    v0 = {(50, 256): ("res50_coco_256x192-ec54d7f3_20200709.pth", 71.8),
          (50, 384): ("res50_coco_384x288-e6f795e9_20200709.pth", 73.1),
          (101, 256): ("res101_coco_256x192-6e6babf0_20200708.pth", 72.6),
          (101, 384): ("res101_coco_384x288-8c71bdc9_20200709.pth", 74.8),
          (152, 256): ("res152_coco_256x192-f6e307c2_20200709.pth", 73.5),
          (152, 384): ("res152_coco_384x288-3860d4c9_20200709.pth", 75.0)}
    for (depth, h), (file_name, ap) in v0.items():
        w = h * 3 // 4
        name = f"mmpose0_res{depth}_coco_{h}x{w}"
        note = "mmpose 0.x" + ("; the 1.x docs link the wrong file for this one" if (depth, h) == (101, 384) else "")
        out[name] = WeightsEntry(name, file_name, depth, (w, h), "coco17", "rgb", _MMPOSE0 + file_name, ap, note)
    pt = "res50_posetrack18_256x192-a62807c7_20201028.pth"
    # Fine-tuned on PoseTrack18 from COCO; mmpose trains it in the COCO-17 slot order (val Total 81.2, GT boxes).
    out["mmpose0_res50_posetrack18_256x192"] = WeightsEntry(
        "mmpose0_res50_posetrack18_256x192", pt, 50, (192, 256), "posetrack18", "rgb", _MMPOSE0 + pt, None,
        "mmpose 0.x, PoseTrack18 fine-tuned")
    return out


REGISTRY: dict[str, WeightsEntry] = _entries()
DEFAULT_POSE_WEIGHTS = "mmpose_res50_coco_256x192"
# Files shipped inside the package (no download): ``demo`` is the ResNet-18 trained on the synthetic world by
# scripts/train_demo_models.sh (posetrack/data/README.md).
PACKAGED = {"demo": Path(__file__).resolve().parent.parent / "data" / "demo_pose.pth"}


def posetrack_home() -> Path:
    return Path(os.environ.get("POSETRACK_HOME", Path.home() / ".cache" / "posetrack"))


def weights_dir() -> Path:
    return posetrack_home() / "weights"


def hash_prefix_from_name(file_name: str) -> str | None:
    """The SHA-256 prefix mmpose and torchvision put in file names (``name-<hex>[_date].pth``)."""
    m = re.search(r"-([0-9a-f]{8,64})(?:_\d+)?\.pth", file_name)
    return m.group(1) if m else None


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def get_entry(name: str) -> WeightsEntry:
    if name not in REGISTRY:
        close = [n for n in REGISTRY if name.lower() in n]
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise PosetrackError(f"no pose weights named {name!r}{hint}; 'posetrack weights list' shows the names")
    return REGISTRY[name]


def local_path(entry: WeightsEntry) -> Path:
    return weights_dir() / entry.file_name


def download(name: str, progress: bool = True, force: bool = False) -> Path:
    """Fetch a registry entry into the weights folder (temporary file, hash check, rename) and return its path."""
    from torch.hub import download_url_to_file

    entry = get_entry(name)
    dest = local_path(entry)
    if dest.is_file() and not force:
        return dest
    if entry.url is None:
        raise PosetrackError(f"{entry.name} cannot be downloaded by script: get {entry.file_name} from "
                             f"{OFFICIAL_FOLDERS} and place it at {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        # torch.hub writes to a temporary file beside dest, checks the SHA-256 prefix, then renames.
        download_url_to_file(entry.url, str(dest), hash_prefix=entry.hash_prefix, progress=progress)
    except RuntimeError as err:
        if "invalid hash value" in str(err):
            raise PosetrackError(f"downloaded {entry.file_name} does not match its hash prefix "
                                 f"{entry.hash_prefix}; the file was discarded, try again") from None
        raise
    except OSError as err:
        reason = getattr(err, "reason", None) or err.__class__.__name__
        raise PosetrackError(f"could not download {entry.name} ({reason}); without internet, download "
                             f"{entry.url} elsewhere and place it at {dest}") from None
    return dest


def resolve(name_or_path: str | os.PathLike, download_missing: bool = True) -> tuple[Path, WeightsEntry | None]:
    """A file path as it is, or a registry name -> its local file (downloaded on first use when it can be)."""
    path = Path(name_or_path)
    if str(name_or_path) in PACKAGED and not path.is_file():
        packaged = PACKAGED[str(name_or_path)]
        if not packaged.is_file():
            raise PosetrackError(f"the packaged {name_or_path} pose weights {packaged} are missing; reinstall "
                                 "posetrack or rebuild them with scripts/train_demo_models.sh")
        return packaged, None
    if path.is_file():
        return path, next((e for e in REGISTRY.values() if e.file_name == path.name), None)
    if str(name_or_path) in REGISTRY:
        entry = REGISTRY[str(name_or_path)]
        if local_path(entry).is_file():
            return local_path(entry), entry
        if not download_missing:
            raise PosetrackError(f"{entry.name} is not downloaded; run 'posetrack weights download {entry.name}'")
        return download(entry.name), entry
    if path.suffix in (".pth", ".tar", ".pt", ".ckpt") or os.sep in str(name_or_path):
        raise PosetrackError(f"pose weights file {name_or_path} does not exist")
    get_entry(str(name_or_path))  # raises with the did-you-mean message
    raise AssertionError("unreachable")
