"""`bgmatch`: index a music library, suggest music for a video, export the result.

Exit codes: 0 success; 1 error (message on stderr); 2 bad usage; 3 finished, but some input
files could not be used (each named on stderr).
"""
from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .progress import progress_bar

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


def _version() -> str:
    try:
        return version("bgmatch")
    except PackageNotFoundError:
        return "unknown"


def default_library() -> Path:
    """The library folder used when ``--library`` is not given (the user data dir)."""
    from bgmatch.engine.library import default_library_folder

    return default_library_folder()


def _positive_int(text: str) -> int:
    """argparse type: an integer of at least 1 (a usage error, exit 2, otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_seconds(text: str) -> float:
    """argparse type: a finite number of seconds, 0 or more (a usage error, exit 2, otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be 0 s or more, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--library", type=Path, default=None, metavar="PATH",
                        help="library folder (default: bgmatch's folder in your user data dir)")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    # Only the commands that rank or embed (index, suggest, demo) take a model and a device.
    ranking = argparse.ArgumentParser(add_help=False)
    ranking.add_argument("--model", default=None, metavar="FOLDER|default|none",
                        help="trained model fused with the analysis-only score: a bundle folder written by "
                             "`bgmatch train`, 'default' (the shipped one, while its learned score counts; today's "
                             "weighs 0, so 'default' ranks by synchrony alone, as 'none' does) or 'none' (default: "
                             "$BGMATCH_MODEL or 'default')")
    ranking.add_argument("--device", default=None, metavar="DEV",
                        help="where the model runs: cpu, cuda, cuda:1 (default: CUDA when present, or "
                             "$BGMATCH_DEVICE)")

    p = argparse.ArgumentParser(
        prog="bgmatch",
        description="Rank the tracks of your music library by how well they fit a video, "
                    "and export the video with the chosen track.",
        epilog=f"Default library: {default_library()}. Exit codes: 0 ok, 1 error, 2 bad usage, "
               "3 done but some files failed.",
    )
    p.add_argument("--version", action="version", version=f"bgmatch {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("index", parents=[common, ranking], help="add music files or folders to the library",
                       description="Analyse audio files (folders are searched recursively) into the library. "
                                   "Unchanged files are skipped; a bad file is reported and the rest go on.")
    s.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="audio files or folders")
    s.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="analyse on the Ray cluster at ADDRESS (auto, host:6379, ray://host:10001; "
                        "'local' starts one on this machine); every node must see the files at the same paths")

    s = sub.add_parser("suggest", parents=[common, ranking], help="rank the library's tracks for a video",
                       description="Analyse a video's cuts and motion and rank the library's tracks, "
                                   "each with the start offset in the track that fits best.")
    s.add_argument("video", type=Path, help="the edited video to find music for")
    s.add_argument("--top", type=_positive_int, default=10, help="how many tracks to show (default: 10)")
    s.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    add_text_options(s)

    add_search_command(sub, common)
    from .analyze import add_analyze_command

    add_analyze_command(sub, common)
    add_output_commands(sub, common)

    s = sub.add_parser("tracks", parents=[common], help="list the library's tracks")
    s.add_argument("--json", action="store_true", help="print JSON")

    for name, (_, summary) in DELEGATED.items():
        sub.add_parser(name, help=summary, add_help=False)

    s = sub.add_parser("demo", parents=[common, ranking],
                       help="index the bundled demo music and suggest for the demo video",
                       description="Index the bundled demo gallery (a separate demo library unless --library "
                                   "is given) and print the suggestions for the bundled demo video.")
    s.add_argument("--top", type=_positive_int, default=10, help="how many tracks to show (default: 10)")
    return p


def cmd_index(args: argparse.Namespace, lib) -> int:
    from bgmatch.engine.library import beat_tracker_is_cold

    missing = [p for p in args.paths if not os.path.exists(p)]  # dangling links too
    if missing:  # before anything is written: the same words as `suggest` (engine.media)
        for p in missing:
            print(f"error: {p}: no such file", file=sys.stderr)
        return EXIT_ERROR
    if beat_tracker_is_cold(lib.config.rhythm) and not args.quiet:
        print("First run: compiling librosa's beat tracker (about 30 s, once per installation) …", file=sys.stderr)
    bar, update = progress_bar(args.quiet, "file")
    with bar:
        if getattr(args, "ray", None):
            from bgmatch.engine.library import add_with_ray

            report = add_with_ray(lib, args.paths, address=args.ray, progress=update)
        else:
            report = lib.add(args.paths, progress=update)
    for _, message in report.failed:
        print(f"error: {message}", file=sys.stderr)
    if not (report.added or report.unchanged or report.failed):
        from bgmatch.engine.library import AUDIO_EXTENSIONS

        searched = ", ".join(str(p) for p in args.paths)
        print(f"error: no audio files in {searched} (folders are searched recursively for "
              f"{' '.join(sorted(AUDIO_EXTENSIONS))}); nothing added to {lib.folder}", file=sys.stderr)
        return EXIT_ERROR
    _embed_missing(args, lib)
    _tag_missing(args, lib)
    print(f"{len(report.added)} added, {len(report.unchanged)} unchanged, {len(report.failed)} failed; "
          f"{len(lib)} tracks in {lib.folder}")
    return EXIT_PARTIAL if report.failed else EXIT_OK


def _catch_up(args: argparse.Namespace, *, todo: int, line: str, run, kept: str) -> None:
    """Run one of the library's per-track batches (``run(progress=…)``) over ``todo`` tracks,
    with a progress bar; each failure is one line ending in what happens to that track."""
    if not todo:
        return
    if not args.quiet:
        print(line, file=sys.stderr)
    bar, update = progress_bar(args.quiet, "track")
    with bar:
        report = run(progress=update)
    for _track_id, message in report.failed:
        print(f"error: {message} ({kept})", file=sys.stderr)


def _embed_missing(args: argparse.Namespace, lib) -> None:
    """Embed the tracks the current model has not seen yet."""
    if lib.model is not None:
        _catch_up(args, todo=len(lib.missing_embeddings()), run=lib.embed,
                  line=f"Embedding the library with model {lib.model.version} …",
                  kept="ranked without the model's score")


def cmd_suggest(args: argparse.Namespace, lib) -> int:
    from bgmatch.engine.session import fit_measures

    from .output import export_command, rival_note, suggestion_table, suggestions_json

    _embed_missing(args, lib)
    query = lib.query(args.video)
    suggestions = lib.suggest(query, top=args.top, **_text_steering(args))
    by_track = fit_measures(lib, query, suggestions)
    measures = [by_track[s.track_id] for s in suggestions]
    if not args.quiet and not args.json:
        weight = lib.model.score_config.fusion_weight if lib.model is not None else None
        model = (" alone" if weight is None else
                 f" alone (model {lib.model.version}: its learned part is shown but weighs 0)" if weight == 0 else
                 f" + {weight:g} × learned (model {lib.model.version})")
        print(f"fit = 0–100 from the score: synchrony{model}; cuts on a beat: within ±40 ms of one at the "
              "offset; --json for the raw parts", file=sys.stderr)
    if args.json:
        print(suggestions_json(suggestions, measures))
        return EXIT_OK
    print(suggestion_table(suggestions, measures))
    if suggestions:
        note = rival_note(suggestions[0], measures[0])
        if note:
            print(f"\n{note}")
        print(f"\nExport the top result:\n  {export_command(args.video, suggestions[0])}")
    return EXIT_OK


# ----- tags and text search (issue 16) -----

DEFAULT_TEXT_WEIGHT = 0.5


def _text(text: str) -> str:
    """argparse type: a text query with some words in it (a usage error, exit 2, otherwise)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the text query is empty: type a few words such as 'calm piano'")
    return text


def _weight(text: str) -> float:
    """argparse type: a weight between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def add_text_options(s: argparse.ArgumentParser) -> None:
    """`suggest`'s text steering options."""
    s.add_argument("--text", type=_text, default=None, metavar="TEXT",
                   help="steer the ranking by words about the music, e.g. 'calm piano', 'epic orchestral'")
    s.add_argument("--text-weight", type=_weight, default=None, metavar="W",
                   help=f"how much the text counts against the video, 0–1: final = (1−W)·z(video) + W·z(text) "
                        f"(default: {DEFAULT_TEXT_WEIGHT:g} when --text is given; 0 is the video ranking, "
                        "1 the text alone)")


def add_search_command(sub, common: argparse.ArgumentParser) -> None:
    """The `search` subcommand."""
    s = sub.add_parser("search", parents=[common], help="rank the library's tracks by a text query",
                       description="Rank the library's tagged tracks by how well their tags (genre, mood, "
                                   "instruments) fit a text such as 'calm piano' or 'epic orchestral'.")
    s.add_argument("text", type=_text, help="words about the music")
    s.add_argument("--top", type=_positive_int, default=10, help="how many tracks to show (default: 10)")
    s.add_argument("--json", action="store_true", help="print a JSON list instead of a table")


def _text_steering(args: argparse.Namespace) -> dict:
    if args.text is None:
        if args.text_weight is not None:
            print("note: --text-weight without --text does nothing", file=sys.stderr)
        return {}
    weight = DEFAULT_TEXT_WEIGHT if args.text_weight is None else args.text_weight
    return {"text": args.text, "text_weight": weight}


def _tag_missing(args: argparse.Namespace, lib) -> None:
    """Tag the tracks that lack tags (a library indexed before tagging)."""
    todo = len(lib.missing_tags())
    _catch_up(args, todo=todo, run=lib.tag, line=f"Tagging {todo} tracks (genre, mood, instruments) …",
              kept="kept without tags")


def cmd_search(args: argparse.Namespace, lib) -> int:
    from .output import search_json, search_table

    hits = lib.search(args.text, top=args.top)
    if args.json:
        print(search_json(hits))
        return EXIT_OK
    if not args.quiet:
        print(f"matched tags: {', '.join(f'{n} {w:.2f}' for n, w in hits[0].matched)}", file=sys.stderr)
    print(search_table(hits))
    return EXIT_OK


def cmd_tracks(args: argparse.Namespace, lib) -> int:
    import json
    from dataclasses import asdict

    from .output import clock

    tracks = lib.tracks()
    if args.json:
        print(json.dumps([asdict(t) for t in tracks], indent=2))
    else:
        for t in tracks:
            print(f"{t.tempo_bpm:6.1f} BPM  {clock(t.duration_s):>7}  {t.title}  ({t.path})")
        print(f"{len(tracks)} tracks in {lib.folder}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, lib) -> int:
    from bgmatch.assets import asset_path

    music, video = asset_path("demo", "music"), asset_path("demo", "video.mp4")
    print(f"Indexing the demo music in {music} …", file=sys.stderr)
    args.paths = [music]
    status = cmd_index(args, lib)
    print(f"\nSuggestions for {video}:\n")
    args.video, args.json, args.text, args.text_weight = video, False, None, None
    cmd_suggest(args, lib)
    return status


# ----- export and fit: the music of the chosen track, fitted, loudness-normalised, or a timeline -----

def _lufs(text: str) -> float | None:
    if text.lower() == "off":
        return None
    value = float(text)
    if not -70.0 <= value <= 0.0:
        raise argparse.ArgumentTypeError(f"loudness must be between -70 and 0 LUFS (or 'off'), got {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _add_music_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("track", type=Path, help="the music track (any audio file FFmpeg reads)")
    s.add_argument("--offset", type=non_negative_seconds, default=0.0, metavar="S",
                   help="start in the track, seconds (the offset `bgmatch suggest` shows; default: 0)")
    s.add_argument("--stretch", action="store_true",
                   help="with a fit: time-stretch it by at most ±3%% (Rubber Band) so the track's ending lands "
                        "exactly on the last frame")
    s.add_argument("--loudness", type=_lufs, default=-14.0, metavar="LUFS",
                   help="normalise the music to this integrated loudness (ITU-R BS.1770), true peak under "
                        "-1 dBTP; 'off' keeps the track's level (default: -14, for online video)")


def add_output_commands(sub, common: argparse.ArgumentParser) -> None:
    """The `export` and `fit` subcommands."""
    s = sub.add_parser("export", parents=[common], help="write the video with a track as its soundtrack, or a timeline",
                       description="Write an MP4 with the video's picture (copied when possible) and the track from "
                                   "OFFSET, faded in and loudness-normalised; or, with --timeline, a timeline for "
                                   "editing software. A track that ends before the video is refused unless --fit "
                                   "re-cuts it at bar lines to the video's length, ending on its own ending.")
    s.add_argument("video", type=Path, help="the video whose picture (and length) the export takes")
    _add_music_options(s)
    s.add_argument("--fit", action="store_true",
                   help="re-cut the track to the video's length at bar lines, ending on the track's own ending")
    out = s.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", type=Path, metavar="OUT.mp4", help="the video to write (.mp4, .m4v, .mov)")
    out.add_argument("--timeline", type=Path, metavar="OUT.ext",
                     help="write a timeline instead, format by extension: .otio (OpenTimelineIO), .fcpxml "
                          "(Final Cut Pro X, Resolve), .xml (FCP 7 XML: Premiere), .edl (CMX 3600), .kdenlive")
    s.add_argument("--fade-in", type=non_negative_seconds, default=0.5, metavar="S",
                   help="fade-in length (default: 0.5 s)")
    s.add_argument("--fade-out", type=non_negative_seconds, default=2.0, metavar="S",
                   help="fade-out length of a plain trim (default: 2 s; a fit ends on the track's ending instead)")

    s = sub.add_parser("fit", parents=[common], help="write a track re-cut to a length, as WAV",
                       description="Re-cut TRACK from OFFSET to last DURATION seconds: segments joined at bar "
                                   "lines where the music on both sides is most alike, ending on the track's own "
                                   "ending. Writes the music alone.")
    _add_music_options(s)
    s.add_argument("--duration", type=_seconds, required=True, metavar="D", help="target length, seconds")
    s.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.wav", help="the WAV file to write")


def _print_plan(plan) -> None:
    for warning in plan.warnings:
        print(f"note: {warning}", file=sys.stderr)
    joins = ", ".join(f"{t:.2f} s" for t in plan.joins_target_s) or "none"
    stretch = f", stretched {100 * (1 / plan.stretch_rate - 1):+.2f} %" if plan.stretch_rate != 1.0 else ""
    print(f"fit: {len(plan.segments)} segments, joins at {joins}{stretch}; ending at {plan.ending_target_s:.2f} s")


def _print_loudness(report, what: str) -> None:
    if report is not None:
        print(f"loudness of {what}: {report.output_lufs:.1f} LUFS integrated (target {report.target_lufs:.1f}), "
              f"true peak {report.true_peak_dbtp:.1f} dBTP")


def cmd_export(args: argparse.Namespace, lib) -> int:
    from tqdm import tqdm

    from bgmatch.engine.library import ExportConfig, FitConfig, export_video

    fit = FitConfig(stretch=args.stretch) if args.fit or args.stretch else None
    if fit is not None and lib is not None:  # the library's bar lines (with the user's beat-grid correction)
        from bgmatch.engine.library import probe

        fit = lib.fit_plan(args.track, offset_s=args.offset, duration_s=probe(args.video).duration_s, config=fit)
    if args.timeline is not None:
        from bgmatch.engine.library import export_timeline

        result = export_timeline(args.video, args.track, offset_s=args.offset, out_path=args.timeline, fit=fit)
        if result.plan is not None:
            _print_plan(result.plan)
        print(f"wrote {result.path}")
        print(f"format: {result.dropped}")
        return EXIT_OK
    config = ExportConfig(fade_in_s=args.fade_in, fade_out_s=args.fade_out, target_lufs=args.loudness)
    with tqdm(total=100, unit="%", disable=args.quiet, leave=False, file=sys.stderr) as bar:
        result = export_video(args.video, args.track, offset_s=args.offset, out_path=args.output, config=config,
                              fit=fit, progress=lambda done, total, _: bar.update(100 * done // total - bar.n))
    if result.plan is not None:
        _print_plan(result.plan)
    _print_loudness(result.loudness, "the written file")
    print(f"wrote {result.path}")
    return EXIT_OK


def cmd_fit(args: argparse.Namespace, lib) -> int:
    from bgmatch.engine.library import FitConfig, write_fit

    config = FitConfig(stretch=args.stretch)
    plan = (lib.fit_plan(args.track, offset_s=args.offset, duration_s=args.duration, config=config)
            if lib is not None else None)  # the library's bar lines when it holds the track
    result = write_fit(args.track, offset_s=args.offset, duration_s=args.duration, out_path=args.output,
                       config=config, target_lufs=args.loudness, plan=plan)
    _print_plan(result.plan)
    _print_loudness(result.loudness, "the written file")
    print(f"wrote {result.path}")
    return EXIT_OK


def _library_if_any(folder):
    """The library in ``folder`` when there is a readable one, else None (export and fit work
    without one)."""
    from bgmatch.engine.errors import BgmatchError
    from bgmatch.engine.library import Library

    if not Path(folder).expanduser().is_dir():
        return None
    try:
        return Library.open(folder, create=False)
    except BgmatchError:
        return None


#: Subcommands owned by other packages: `bgmatch NAME ARGS…` runs ``module.main(ARGS…)``.
DELEGATED = {
    "train": ("bgmatch.training.cli", "train a model from a config (prepare → pretrain → match → eval)"),
    "eval": ("bgmatch.training.evaluate", "evaluate ranking methods on a BeatCut split"),
    "app": ("bgmatch.app.main", "open the desktop app"),
    "bench": ("bgmatch.bench.__main__", "run the speed, memory and scale benchmarks"),
}

def _cmd_analyze(args: argparse.Namespace, lib) -> int:
    from .analyze import cmd_analyze

    return EXIT_PARTIAL if cmd_analyze(args, lib) else EXIT_OK


COMMANDS = {"index": cmd_index, "suggest": cmd_suggest, "export": cmd_export, "fit": cmd_fit, "tracks": cmd_tracks,
            "demo": cmd_demo, "search": cmd_search, "analyze": _cmd_analyze}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        import importlib

        module_name = DELEGATED[argv[0]][0]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            print(f"error: `bgmatch {argv[0]}` is not available: {exc}", file=sys.stderr)
            return EXIT_ERROR
        return int(module.main(argv[1:]) or 0)
    parser = build_parser()
    args = parser.parse_args(argv)
    from bgmatch.engine.errors import BgmatchError
    from bgmatch.engine.library import Library

    folder = args.library
    if folder is None:
        from bgmatch.engine.library import demo_library_folder

        folder = demo_library_folder() if args.command == "demo" else default_library()
    try:
        if args.command in {"export", "fit"}:  # need no library; use its bar lines when there is one
            lib = _library_if_any(folder)
            try:
                return COMMANDS[args.command](args, lib)
            finally:
                if lib is not None:
                    lib.close()
        if args.command == "analyze" and not Path(folder).expanduser().is_dir():  # a file outside any library
            return COMMANDS[args.command](args, None)
        with Library.open(folder, create=args.command in {"index", "demo"}) as lib:
            if args.command in {"index", "suggest", "demo"}:
                from bgmatch.engine.library import load_model_choice

                lib.set_model(load_model_choice(args.model, device=args.device))
            return COMMANDS[args.command](args, lib)
    except BgmatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
