"""``write_report``: one self-contained HTML page (inline PNGs and CSS, no script, nothing fetched) for a run's
result file or a folder of them."""
from __future__ import annotations

import base64
import html
import os
from pathlib import Path

from ...errors import PosetrackError
from ...atomic import atomic_path
from ..files import read_result
from .analyse import SequenceReport, analyse
from .flags import KINDS

STYLE = """body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1250px}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
td.l,th.l{text-align:left}img{max-width:100%}.real{color:#070}.fake{color:#a00}
figure{display:inline-block;margin:4px;border:1px solid #ddd;padding:4px;vertical-align:top}
figcaption{font-size:12px}.note{color:#555;font-style:italic}"""


def _results(target: Path) -> list[Path]:
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise PosetrackError(f"{target}: no such file or folder; give a run's result JSON or its output folder")
    found = []
    for path in sorted(target.glob("*.json")):
        try:
            read_result(path)
        except PosetrackError:
            continue  # metrics.json and other files that are not results
        found.append(path)
    if not found:
        raise PosetrackError(f"{target}: no posetrack result (PoseTrack 2018/2017 JSON) in this folder")
    return found


def _match(folder_or_file: Path | None, name: str, many: bool, what: str, exts: tuple[str, ...]) -> Path | None:
    if folder_or_file is None:
        return None
    if not folder_or_file.exists():
        raise PosetrackError(f"{folder_or_file}: {what} not found")
    if folder_or_file.is_dir() and (many or what == "ground truth"):
        for ext in exts:
            if (folder_or_file / f"{name}{ext}").exists():
                return folder_or_file / f"{name}{ext}"
        return None
    return folder_or_file


def write_report(target: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                 gt: str | os.PathLike | None = None, video: str | os.PathLike | None = None) -> Path:
    """Analyse ``target`` (a result JSON or a folder of them) and write the page; returns its path."""
    target = Path(target)
    paths = _results(target)
    many = target.is_dir()
    out_dir = Path(out_dir) if out_dir is not None else (target if many else target.parent)
    page = out_dir / ("report.html" if many else f"{target.stem}.report.html")
    gt_path = Path(gt) if gt is not None else None
    video_path = Path(video) if video is not None else None
    if video_path is not None and many and not video_path.is_dir():
        raise PosetrackError(f"{video_path}: for a folder of results give a folder of videos named like them")
    reports = []
    for path in paths:
        seq_gt = _match(gt_path, path.stem, many, "ground truth", (".json",))
        report = analyse(path, seq_gt, _match(video_path, path.stem, many, "video",
                                              (".mp4", ".avi", ".mov", ".mkv", ".webm", "")))
        if gt_path is not None and seq_gt is None:
            report.notes.append(f"no ground truth {path.stem}.json in {gt_path}")
        reports.append(report)
    text = render(reports, str(target))
    with atomic_path(page) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return page


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _fmt(value) -> str:
    return "–" if value is None or value != value else f"{value:.1f}" if isinstance(value, float) else str(value)


def render(reports: list[SequenceReport], title: str) -> str:
    e = html.escape
    with_gt = any(r.switches is not None for r in reports)
    head = ["sequence", "frames", "tracks"] + [KINDS[k] for k in KINDS]
    if with_gt:
        head += ["mAP", "MOTA", "IDF1", "switch flags real", "real switches flagged"]
    rows = []
    for r in reports:
        counts = [sum(f.kind == k for f in r.flags) for k in KINDS]
        cells = [f'<td class="l"><a href="#{e(r.name)}">{e(r.name)}</a></td>', f"<td>{r.num_frames}</td>",
                 f"<td>{len(r.stats)}</td>"] + [f"<td>{c}</td>" for c in counts]
        if with_gt:
            m, s = r.metrics or {}, r.switches or {}
            cells += [f"<td>{_fmt(m.get(k))}</td>" for k in ("mAP", "MOTA", "IDF1")]
            cells += [f"<td>{s.get('real_flags', '–')}/{s.get('flagged', '–')}</td>",
                      f"<td>{s.get('found', '–')}/{s.get('switches', '–')}</td>"]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>posetrack report: {e(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>posetrack report</h1><p>{e(title)}</p>",
             "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>" + "".join(rows) + "</table>",
             "<p class=note>Flags are found without ground truth: a likely id switch (a track born near where "
             "another ended, or two tracks that cross and continue on each other's course), a very short track, "
             "a joint that jumps farther than a person moves in a frame, two ids on one pose."
             + (" With ground truth, each flag says whether it marks a real error." if with_gt else "") + "</p>"]
    for r in reports:
        parts.append(_section(r))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _section(r: SequenceReport) -> str:
    e = html.escape
    out = [f'<h2 id="{e(r.name)}">{e(r.name)}</h2>',
           f"<p>{r.num_frames} frames, {len(r.stats)} tracks, {len(r.flags)} flags. {e(str(r.path))}</p>"]
    out += [f"<p class=note>{e(note)}</p>" for note in r.notes]
    if r.metrics:
        out.append("<p>" + ", ".join(f"{k} {_fmt(v)}" for k, v in r.metrics.items()) + "</p>")
    if r.switches:
        s = r.switches
        out.append(f"<p>Likely id switch flags: {s['real_flags']} of {s['flagged']} real (precision "
                   f"{_fmt(100 * s['precision'])}%); real id switches: {s['found']} of {s['switches']} flagged "
                   f"(recall {_fmt(100 * s['recall'])}%).</p>")
    out.append(_img(r.timeline_png, f"timeline of {r.name}"))
    if r.left_out:
        out.append(f"<p class=note>{r.left_out} shorter tracks are not drawn on the timeline.</p>")
    out.append(_img(r.summary_png, f"track lengths, people per frame and jitter of {r.name}"))
    if r.flags:
        out.append("<table><tr><th>#</th><th class=l>event</th><th>frames</th><th>tracks</th><th class=l>detail</th>"
                   + ("<th>real?</th>" if r.switches is not None else "") + "</tr>")
        for i, f in enumerate(r.flags):
            anchor = f"{r.name}-flag-{i}"
            link = f'<a href="#{e(anchor)}">{i}</a>' if any(k[0] == i for k in r.thumbs) else str(i)
            real = "" if f.real is None else \
                f"<td class={'real' if f.real else 'fake'}>{'yes' if f.real else 'no'}</td>"
            out.append(f"<tr><td>{link}</td><td class=l>{e(KINDS[f.kind])}</td><td>"
                       f"{'-'.join(map(str, sorted(set(f.frames))))}</td><td>{', '.join(map(str, f.tracks))}</td>"
                       f"<td class=l>{e(f.detail)}</td>{real}</tr>")
        out.append("</table>")
    for i, f in enumerate(r.flags):
        shots = [(t, png) for (k, t), png in sorted(r.thumbs.items()) if k == i]
        if shots:
            out.append(f'<figure id="{e(r.name)}-flag-{i}">' + "".join(_img(png, f"frame {t}") for t, png in shots)
                       + f"<figcaption>{i}: {e(KINDS[f.kind])}, frames {', '.join(str(t) for t, _ in shots)}"
                       "</figcaption></figure>")
    return "\n".join(out)
