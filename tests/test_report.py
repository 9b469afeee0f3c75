"""``posetrack report``: flags on hand-made tracks, their truth, the page, and the page in a real browser."""
from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

import browser
import results_data
from posetrack.cli import main
from posetrack.results.people import People
from posetrack.results.report.flags import find_flags
from posetrack.results.report.truth import mark_flags, pair_people, switch_scores
from posetrack.types import Frame, Sequence


def _person(x: float, y: float = 100.0) -> np.ndarray:
    """A 100 px tall stick person whose joints are spread around (x, y)."""
    k = np.zeros((17, 3), np.float32)
    k[:, 0] = x + np.linspace(-15, 15, 17)
    k[:, 1] = y + np.linspace(-50, 50, 17)
    k[:, 2] = 0.9
    return k


def _seq(frames: list[list[tuple[int, np.ndarray]]]) -> Sequence:
    out = []
    for t, people in enumerate(frames):
        n = len(people)
        kpts = np.array([k for _, k in people], np.float32).reshape(n, 17, 3)
        boxes = np.stack([kpts[:, :, 0].min(1), kpts[:, :, 1].min(1), kpts[:, :, 0].max(1), kpts[:, :, 1].max(1)],
                         1) if n else np.zeros((0, 4), np.float32)
        out.append(Frame(f"images/val/000001_mpii_val/{t:06d}.jpg", t, kpts, boxes, np.ones(n, np.float32),
                         np.array([i for i, _ in people], np.int64)))
    return Sequence("000001_mpii_val", out)


def test_flags_on_hand_made_tracks():
    frames = []
    for t in range(30):
        people = []
        if t <= 10:
            people.append((0, _person(100 + 2 * t)))       # walks right, lost after frame 10
        if t >= 13:
            people.append((1, _person(100 + 2 * t)))       # ... found again as track 1 where 0 was heading
        if 20 <= t <= 21:
            people.append((2, _person(400)))               # a 2-frame track
        if t >= 1:
            people.append((3, _person(600 if t < 15 else 680, 300)))  # jumps 80 px (0.8 heights) at frame 15
            people.append((4, _person(900)))
        if 24 <= t <= 26:
            people.append((5, _person(900.5)))             # the same pose as track 4
        frames.append(people)
    seq = _seq(frames)
    flags = find_flags(People.of(seq), len(seq.frames))
    found = [(f.kind, f.frames, f.tracks) for f in flags]
    assert found == [("switch", [10, 13], [0, 1]), ("jump", [14, 15], [3]), ("short", [20, 21], [2]),
                     ("duplicate", [24, 26], [4, 5]), ("short", [24, 26], [5])]
    assert flags[1].detail == "track 3: 17 joint(s) jump, nose by 0.80 heights"


def test_truth_finds_the_real_switch_and_marks_the_flags():
    gt = _seq([[(7, _person(100 + 2 * t))] for t in range(20)])
    pred = _seq([[(0 if t < 10 else 1, _person(100 + 2 * t))] if t not in (10, 11) else [] for t in range(20)])
    pred_people, gt_people = People.of(pred), People.of(gt)
    truth = pair_people(pred_people, gt_people)
    assert truth.switches == [(7, 0, 1, 12)]
    flags = find_flags(pred_people, 20)
    mark_flags(flags, pred_people, truth)
    assert [(f.kind, f.tracks, f.real) for f in flags] == [("switch", [0, 1], True)]
    assert switch_scores(flags, truth) == {"flagged": 1, "real_flags": 1, "switches": 1, "found": 1,
                                           "precision": 1.0, "recall": 1.0}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    run = results_data.make_run(folder, frames=30, people=3)
    run["video"].rename(run["run"].with_suffix(".mp4"))  # the overlay beside the JSON gives the thumbnails
    (run["run"].parent / "metrics.json").write_text('{"ap": 1}')  # not a result: left out of the page
    assert main(["report", str(run["run"].parent), "--gt", str(run["gt"].parent)]) == 0
    return run["run"].parent / "report.html", run


def test_report_page_of_a_run_folder_with_ground_truth(page):
    path, run = page
    text = path.read_text()
    assert text.count("<h2 ") == 1 and "metrics" not in text
    assert not re.search(r"(src|href)=\"(https?:|//)", text)  # nothing to fetch
    flags = find_flags(People.of(run["tracked"]), len(run["tracked"].frames))
    truth = pair_people(People.of(run["tracked"]), People.of(run["truth"]))
    mark_flags(flags, People.of(run["tracked"]), truth)
    scores = switch_scores(flags, truth)
    assert f"{scores['real_flags']} of {scores['flagged']} real" in text
    assert f"{scores['found']} of {scores['switches']} flagged" in text
    assert text.count("<figure ") == len(flags)  # one thumbnail group per flag
    assert "mAP " in text and "IDF1 " in text


def test_report_without_video_says_so_and_refuses_a_non_result(tmp_path, capsys):
    run = results_data.make_run(tmp_path, frames=20, people=2)
    assert main(["report", str(run["run"]), "-o", str(tmp_path / "rep")]) == 0
    text = (tmp_path / "rep" / f"{run['run'].stem}.report.html").read_text()
    assert "no thumbnails: no overlay video" in text
    (tmp_path / "x.json").write_text("[1, 2]")
    assert main(["report", str(tmp_path / "x.json")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.skipif(browser.chromium() is None, reason="Chromium is not installed (apt-get install chromium)")
def test_report_in_a_real_browser_has_no_console_error_and_fetches_nothing(page, tmp_path):
    path, _ = page
    visit = browser.visit(path)
    assert visit.errors == []
    assert [u for u in visit.requests if not u.startswith(("data:", path.resolve().as_uri()))] == []
    shot = cv2.imdecode(np.frombuffer(visit.screenshot, np.uint8), cv2.IMREAD_COLOR)
    assert shot.shape[0] > 900  # the whole page, taller than the 900 px window
    not_white = (shot < 240).any(-1).mean()
    assert not_white > 0.05  # text, plots and thumbnails, not an empty page
    # The same check catches what it is there to catch.
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script>')
    visit = browser.visit(bad)
    assert "boom" in visit.errors and "http://127.0.0.1:9/x.png" in visit.requests
