"""The ``occlusion`` synthetic scenario: people hidden by foreground occluders or out of view for a while, back
where the script says, with the ground truth marking them absent meanwhile."""
import json

import numpy as np
import pytest

from posetrack.cli import main
from posetrack.synth import make_sequence
from posetrack.synth.occlusion import PANEL, PANEL_TOP
from posetrack.synth.render import OCCLUDER
from posetrack.synth.skeleton import DARK, P

FRAMES, PEOPLE, FPS = 250, 8, 25.0
PT18_SCORED = [j for j in range(17) if j not in (3, 4)]


@pytest.fixture(scope="module", params=[(0, 0.0), (1, 2.0), (2, -3.0)], ids=["still", "pan+2", "pan-3"])
def occlusion(request):
    seed, pan = request.param
    return make_sequence(seed=seed, frames=FRAMES, people=PEOPLE, width=480, height=270, scenario="occlusion",
                         pan=pan, noise=0, labels=True)


def _present(seq) -> np.ndarray:
    present = np.zeros((seq.scene.num_frames, seq.scene.num_people), bool)
    for t, f in enumerate(seq.gt.frames):
        present[t, f.track_ids] = True
    return present


def _absence(present: np.ndarray, p: int, t: int) -> tuple[int, int]:
    """First and last frame of person ``p``'s absence around frame ``t``."""
    lo = hi = t
    while lo > 0 and not present[lo - 1, p]:
        lo -= 1
    while hi < len(present) - 1 and not present[hi + 1, p]:
        hi += 1
    return lo, hi


def _occluder_x(scene, t: int) -> np.ndarray:
    """``(K, 2)`` screen x1, x2 of the occluders in frame ``t`` (placed as the backdrop is)."""
    cx, z = scene.width / 2, scene.zoom[t]
    return cx + z * (scene.occluders[:, [0, 2]] - scene.shift[t] - cx)


def test_scripted_absences_last_as_long_as_the_scripts_say(occlusion):
    scene, present = occlusion.scene, _present(occlusion)
    assert scene.roles == ("pass", "pause", "cross", "cross", "turn", "exit", "pass", "pause")
    hip = scene.points[:, :, P["hip_mid"], 0]
    for p, role in enumerate(scene.roles):
        if role == "cross":
            assert np.isnan(scene.hidden[p]).all()
            continue
        start, end = scene.hidden[p] * FPS
        lo, hi = _absence(present, p, int(round((start + end) / 2)))
        seconds = (hi - lo + 1) / FPS
        if role == "exit":
            assert 2.3 <= (end - start) / FPS <= 3.7 and 2.0 <= seconds <= 4.0, (p, seconds)
        else:
            assert 1.3 <= (end - start) / FPS <= 2.7 and 1.0 <= seconds <= 3.0, (p, role, seconds)
        # Seen for at least half a second before and after, so a tracker has something to link.
        assert present[:lo, p].sum() >= 12 and present[hi + 1:, p].sum() >= 12, (p, role)
        before, after = hip[lo - 1, p], hip[hi + 1, p]
        if role == "exit":  # back on the side it left by, near that edge
            assert np.sign(before - scene.width / 2) == np.sign(after - scene.width / 2)
            assert min(abs(before - scene.width / 2), abs(after - scene.width / 2)) > 0.3 * scene.width
        else:  # behind the occluder that hid it: back out the same side after a turn, the other side otherwise
            mid = (lo + hi) // 2
            x1, x2 = _occluder_x(scene, mid).T
            k = int(np.flatnonzero((x1 <= hip[mid, p]) & (hip[mid, p] <= x2))[0])
            centre = lambda t: (_occluder_x(scene, t)[k].sum() / 2)  # noqa: E731
            same = np.sign(before - centre(lo - 1)) == np.sign(after - centre(hi + 1))
            assert same == (role == "turn"), (p, role)


def test_hidden_joints_are_behind_an_occluder_drawn_over_everyone(occlusion):
    scene = occlusion.scene
    checked = 0
    for t in range(0, FRAMES, 5):
        labels, image = occlusion.labels[t], occlusion.frames[t]
        x1, x2 = _occluder_x(scene, t).T
        top = np.where(scene.occluders[:, 4] == PANEL, scene.height / 2 + scene.zoom[t] * (
            PANEL_TOP * scene.height - scene.height / 2), -np.inf)
        pts = scene.points[t][:, PT18_SCORED]
        xy = np.round(pts)
        inside = (xy >= 0).all(-1) & (xy[..., 0] < scene.width) & (xy[..., 1] < scene.height)
        behind = ((pts[..., 0, None] > x1 + 1) & (pts[..., 0, None] < x2 - 1) & (pts[..., 1, None] > top + 1)).any(-1)
        # A joint well inside an occluder is hidden, its pixel labelled as occluder, painted in the occluder's shades.
        assert not occlusion.visible[t][:, PT18_SCORED][behind & inside].any()
        x, y = xy[behind & inside].astype(int).T
        assert (labels[y, x] == OCCLUDER).all()
        palette = scene.palette.reshape(-1, 3)
        assert not (image[y, x][:, None] == palette[None]).all(-1).any()
        checked += len(x)
    assert checked > 100


def test_occluders_move_with_the_backdrop():
    seq = make_sequence(seed=3, frames=12, people=4, width=320, height=180, scenario="occlusion", pan=3.0,
                        noise=0, labels=True)
    for t in range(11):
        a, b = seq.labels[t] == OCCLUDER, seq.labels[t + 1] == OCCLUDER
        assert a.any() and np.array_equal(b[:, :-3], a[:, 3:])  # exactly 3 px left per frame, as the backdrop


def test_twins_dress_alike_but_not_identically():
    scene = make_sequence(seed=4, frames=2, people=8, scenario="occlusion", lazy=True).scene
    base = scene.palette[:, :DARK].astype(int)
    diff = lambda a, b: np.abs(base[a] - base[b]).mean()  # noqa: E731
    for a, b in ((0, 1), (4, 5)):
        assert 3 < diff(a, b) < 20, (a, b, diff(a, b))
    assert diff(0, 2) > 20 and diff(2, 3) > 20  # the crossing pair dresses differently


def test_same_seed_same_scene():
    a = make_sequence(seed=9, frames=30, people=6, width=320, height=180, scenario="occlusion", pan=1.0)
    b = make_sequence(seed=9, frames=30, people=6, width=320, height=180, scenario="occlusion", pan=1.0)
    c = make_sequence(seed=10, frames=30, people=6, width=320, height=180, scenario="occlusion", pan=1.0)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames)) and np.array_equal(a.visible, b.visible)
    assert not np.array_equal(a.frames[0], c.frames[0])


def test_synth_command_writes_the_occlusion_scenario(tmp_path):
    assert main(["synth", str(tmp_path), "--scenario", "occlusion", "--frames", "6", "--people", "6", "--width",
                 "320", "--height", "180", "--no-video"]) == 0
    raw = json.loads((tmp_path / "annotations" / "val" / "000001_mpii_val.json").read_text())
    listed = {(a["image_id"], a["track_id"]) for a in raw["annotations"]}
    seq = make_sequence(seed=[0, 0], frames=6, people=6, width=320, height=180, scenario="occlusion", lazy=True)
    expected = {(f.image_id, int(i)) for f in seq.gt.frames for i in f.track_ids}
    assert listed == expected
