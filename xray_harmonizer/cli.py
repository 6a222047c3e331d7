"""``xray-harmonizer``: the desktop app, and headless commands for scripts and batches.

    xray-harmonizer [PATH...]                      open the app (the sample study when no PATH)
    xray-harmonizer info PATH...                   one JSON object per image (no patient identity)
    xray-harmonizer harmonize PATH... -o OUTDIR    harmonize and write PNG or derived DICOM
    xray-harmonizer profile build DIR -o FILE      build a reference-site profile
    xray-harmonizer train generalizer|classifier   fit a model on a site's images (needs [train])
    xray-harmonizer train site SITE_DIR ...        scan, hold out, train, evaluate, install (wizard)
    xray-harmonizer models [--json]                installed packages: site, reference, figures
    xray-harmonizer send PATH... --to HOST:PORT    C-STORE DICOM files (e.g. harmonize's) to a PACS

Exit status: 0 all inputs succeeded, 1 some inputs were refused (each named on stderr, the rest
processed), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

EXIT_OK, EXIT_SOME_REFUSED, EXIT_USAGE = 0, 1, 2
COMMANDS = ("info", "harmonize", "profile", "train", "gui", "models", "send")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # pydicom logs every failed decoder attempt with a traceback; our loader turns the failure
    # into one line naming the file and the reason, so those tracebacks are noise here.
    # (pydicom resets its logger's level when its config is imported, hence the import first.)
    import pydicom.config  # noqa: F401

    logging.getLogger("pydicom").setLevel(logging.CRITICAL)
    if argv == ["--self-test"]:  # the installed app checks itself (installer/build.sh runs it)
        from xray_harmonizer.gui.selftest import run_self_test

        return run_self_test()
    if not argv or argv[0] not in COMMANDS + ("-h", "--help", "--version"):
        not_paths = [a for a in argv if not Path(a).exists()]
        if not_paths:  # a mistyped command must not open (and crash) a window
            print(f"error: {not_paths[0]!r} is neither a command ({', '.join(COMMANDS)}) nor an "
                  "existing file or folder; see xray-harmonizer --help", file=sys.stderr)
            return EXIT_USAGE
        return _run_gui(argv)
    parser = _build_parser()
    if argv[0] == "train":
        return _run_train(parser, argv[1:])
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _build_parser() -> argparse.ArgumentParser:
    from xray_harmonizer import __version__

    parser = argparse.ArgumentParser(prog="xray-harmonizer", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="print what the loader sees in each image, as JSON lines")
    info.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    info.set_defaults(func=_cmd_info)

    har = sub.add_parser("harmonize", help="harmonize studies and write the results")
    har.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                     help="files, folders or DICOM series")
    har.add_argument("--method", default=None,
                     help="a model package's name or display name (case-insensitive), or a "
                          "method: histogram, cyclegan, unit (the best-measured of that method); "
                          "default: the recommended generalizer")
    har.add_argument("--model", type=Path, help="use this model package folder or .zip")
    har.add_argument("--reference", type=Path,
                     help="reference-site profile JSON (default: the bundled Kermany profile)")
    har.add_argument("--whole-image", action="store_true",
                     help="histogram matching over the whole image instead of the body region")
    har.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR")
    har.add_argument("--format", choices=("png", "dcm"), default="png")
    har.add_argument("--deidentify", action="store_true",
                     help="with --format dcm: apply the DICOM PS3.15 Basic Profile (identity "
                          "removed, new UIDs consistent across this run)")
    har.add_argument("--json", action="store_true", help="print one JSON object per image")
    har.add_argument("--workers", type=int, default=1, metavar="N",
                     help="images in flight at once (default 1); memory grows with N, not with "
                          "the number of inputs")
    har.set_defaults(func=_cmd_harmonize)

    prof = sub.add_parser("profile", help="reference-site profiles")
    prof_sub = prof.add_subparsers(dest="profile_command", required=True)
    build = prof_sub.add_parser("build", help="build a profile from a folder of images")
    build.add_argument("folder", type=Path, metavar="DIR")
    build.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    build.add_argument("--site-id", help="id of the site (default: the folder's name)")
    build.add_argument("--description", default="")
    build.set_defaults(func=_cmd_profile_build)

    send = sub.add_parser("send", help="send DICOM files (e.g. a harmonized series) to a PACS")
    send.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    send.add_argument("--to", required=True, metavar="HOST:PORT", help="the PACS (C-STORE SCP)")
    send.add_argument("--aet", default="XRAY-HARMONIZER", help="our AE title (calling)")
    send.add_argument("--called-aet", default="ANY-SCP", help="the PACS's AE title (called)")
    send.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
    send.set_defaults(func=_cmd_send)

    gui = sub.add_parser("gui", help="open the desktop app")
    gui.add_argument("paths", nargs="*", metavar="PATH")
    gui.set_defaults(func=lambda a: _run_gui(a.paths))
    sub.add_parser("train", help="train a generalizer or a classifier (see train -h)")
    models = sub.add_parser("models", help="list installed model packages")
    models.add_argument("--json", action="store_true", help="one JSON object per package")
    models.set_defaults(func=_cmd_models)
    return parser


def _cmd_models(args: argparse.Namespace) -> int:
    from training.sitefit.install import format_rows, installed_rows, to_json

    rows, refused = installed_rows()
    print(to_json(rows) if args.json else format_rows(rows))
    _report_errors(refused)
    return EXIT_SOME_REFUSED if refused else EXIT_OK


def _run_gui(paths: list[str]) -> int:
    from xray_harmonizer.gui.display_check import display_problem

    problem = display_problem()
    if problem is not None:  # Qt would abort the process (core dump) with a misleading message
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from xray_harmonizer.gui.app import run

    return int(run(paths))


def _run_train(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    usage = "usage: xray-harmonizer train {generalizer,classifier,site} [options]  (-h for each)"
    if not argv or argv[0] not in ("generalizer", "classifier", "site"):
        print(usage, file=sys.stderr)
        return EXIT_USAGE if argv[:1] not in (["-h"], ["--help"]) else EXIT_OK
    try:
        if argv[0] == "generalizer":
            from training.gan.train import main as train_main
        elif argv[0] == "site":
            from training.sitefit.cli import main as train_main
        else:
            from training.classifier.train import main as train_main
    except ImportError as exc:
        print(f"error: training needs the [train] extra (pip install -e '.[train]'): {exc}",
              file=sys.stderr)
        return EXIT_USAGE
    return int(train_main(argv[1:]) or 0)


def _report_errors(errors: list) -> None:
    for err in errors:
        print(f"error: {err}", file=sys.stderr)


def _cmd_info(args: argparse.Namespace) -> int:
    from xray_harmonizer.io import StudyError, describe, iter_study

    n_images = n_errors = 0
    for path in args.paths:
        for _, item in iter_study(path):  # one image in memory at a time
            if isinstance(item, StudyError):
                n_errors += 1
                print(f"error: {item}", file=sys.stderr)
            else:
                n_images += 1
                print(json.dumps(describe(item)), flush=True)
    if n_images == n_errors == 0:
        print(f"error: no image files in {', '.join(map(str, args.paths))}", file=sys.stderr)
        return EXIT_SOME_REFUSED
    return EXIT_SOME_REFUSED if n_errors else EXIT_OK


def _cmd_send(args: argparse.Namespace) -> int:
    from xray_harmonizer.io.pacs import PacsError, PacsNode, dicom_files, parse_address, send_files

    try:
        host, port = parse_address(args.to)
        node = PacsNode(host, port, called_aet=args.called_aet, calling_aet=args.aet)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    files = dicom_files(args.paths)
    if not files:
        print("error: no files to send", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = send_files(files, node, timeout=args.timeout)
    except PacsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SOME_REFUSED
    print(f"sent {len(result.sent)} of {len(files)} files to {node}")
    for path, reason in result.failed:
        print(f"error: {path}: {reason}", file=sys.stderr)
    return EXIT_SOME_REFUSED if result.failed else EXIT_OK


def _cmd_profile_build(args: argparse.Namespace) -> int:
    from xray_harmonizer.reference.profile import build_profile

    if not args.folder.is_dir():
        print(f"error: {args.folder}: not a folder", file=sys.stderr)
        return EXIT_USAGE
    site_id = args.site_id or args.folder.resolve().name
    profile, errors = build_profile(args.folder, site_id, args.description, progress=True)
    profile.save(args.output)
    print(f"profile {site_id!r}: {profile.n_images} images -> {args.output}")
    _report_errors(errors)
    return EXIT_SOME_REFUSED if errors else EXIT_OK


def _cmd_harmonize(args: argparse.Namespace) -> int:
    """Read, harmonize and write one image at a time (``--workers N``: N in flight), so memory
    stays flat however many inputs there are; each refused file is one line on stderr."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    from xray_harmonizer.io.deidentify import Deidentifier
    from xray_harmonizer.io.export import remove_stale_parts
    from xray_harmonizer.reference.profile import ProfileError, load_profile

    if args.deidentify and args.format != "dcm":
        print("error: --deidentify applies to --format dcm (PNG files carry no patient data)",
              file=sys.stderr)
        return EXIT_USAGE
    if args.output.exists() and not args.output.is_dir():
        print(f"error: -o {args.output}: is a file; give a folder for the outputs", file=sys.stderr)
        return EXIT_USAGE
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        profile = load_profile(args.reference)
        generalizer = _choose_generalizer(args, profile)
    except (ProfileError, LookupError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from xray_harmonizer.generalizers.registry import package_name

    print(f"generalizer: {package_name(generalizer)} ({generalizer.name})", file=sys.stderr)
    files, n_errors = _harmonize_inputs(args.paths, args.output)
    if not files:
        if not n_errors:
            print(f"error: no image files in {', '.join(map(str, args.paths))}", file=sys.stderr)
        return EXIT_SOME_REFUSED
    args.output.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(args.output)  # left by a run that was killed mid-write
    from xray_harmonizer.analysis.models import Unavailable, load_classifier

    classifier = load_classifier()  # its probability, or why the image is outside its domain
    job = _HarmonizeJob(args, profile, generalizer, {f.resolve() for f in files},
                        Deidentifier() if args.deidentify else None,  # one UID map per run
                        None if isinstance(classifier, Unavailable) else classifier)
    bar = tqdm(total=len(files), desc="harmonize", unit="img", disable=True if len(files) < 2 else None,
               file=sys.stderr)
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        pending: deque = deque()
        for i, file in enumerate(files):
            pending.append(pool.submit(job.run, file))
            # At most N images in flight; results are printed in input order.
            while pending and (len(pending) >= args.workers or i == len(files) - 1):
                n_errors += job.report(pending.popleft().result())
                bar.update()
    bar.close()
    return EXIT_SOME_REFUSED if n_errors else EXIT_OK


def _harmonize_inputs(paths: list[Path], output: Path) -> tuple[list[Path], int]:
    """Input files in study order, leaving out outputs of earlier runs in the output folder
    (``-o`` may be an input folder); missing paths are reported, their count returned."""
    from xray_harmonizer.io import study_files

    out_dir = output.resolve()
    files: list[Path] = []
    missing = 0
    for path in paths:
        if not path.exists():
            print(f"error: {path}: file or folder not found", file=sys.stderr)
            missing += 1
            continue
        found, _ = study_files(path)
        files += [f for f in found if not (f.resolve().parent == out_dir and _HARMONIZED in f.stem)]
    return files, missing


_HARMONIZED = "_harmonized_"


class _HarmonizeJob:
    """One image: open, harmonize and measure, write; thread-safe (the output names are
    chosen under a lock; generalizers and onnxruntime sessions allow concurrent calls)."""

    def __init__(self, args: argparse.Namespace, profile, generalizer, inputs: set[Path],
                 deidentifier, classifier=None) -> None:
        import threading

        from xray_harmonizer.generalizers.registry import package_name

        self.args, self.profile, self.generalizer = args, profile, generalizer
        self.deidentifier = deidentifier
        self.classifier = classifier
        self.used = set(inputs)  # no output may land on an input
        self.lock = threading.Lock()
        # Outputs of different packages (two UNIT packages too) sit side by side.
        self.suffix = f"{_HARMONIZED}{package_name(generalizer)}"
        self.ext = ".dcm" if args.format == "dcm" else ".png"

    def run(self, file: Path) -> dict | Exception:
        from xray_harmonizer.analysis import harmonize_and_measure, prepare
        from xray_harmonizer.io import StudyError, open_image
        from xray_harmonizer.io.errors import printable
        from xray_harmonizer.io.export import output_path_for, write_derived_dicom, write_png16

        try:
            image = open_image(file)
            # The one harmonize-and-measure path (also the GUI's and the protocol's).
            result = harmonize_and_measure(prepare(image.pixels), self.generalizer, self.profile,
                                           self.classifier, dataset=image.meta.dataset,
                                           with_map=False)
            with self.lock:
                target = _unique(output_path_for(image, self.args.output, suffix=self.suffix,
                                                 ext=self.ext), self.used)
            if self.args.format == "dcm":
                write_derived_dicom(result.harmonized, image, target,
                                    generalizer_name=self.generalizer.name,
                                    model_hash=self.generalizer.model_hash,
                                    deidentifier=self.deidentifier)
            else:
                write_png16(result.harmonized, target)
        except StudyError as exc:
            return exc
        except Exception as exc:  # a generalizer failing on one image must not stop the batch
            return RuntimeError(f"{printable(str(file))}: harmonizing failed ({type(exc).__name__})")
        return {
            "input": str(image.meta.source), "output": str(target),
            "generalizer": self.generalizer.name, "ssim_to_input": round(result.ssim, 4),
            "w1_before": round(result.w1_original, 4),
            "w1_after": round(result.w1_harmonized, 4),
            "time_ms": round(result.timings["harmonize"] * 1000, 1),
            # None with the reason in "not_in_domain" when the image is not a frontal chest
            # radiograph (classifier/domain.py); both None when no classifier is installed.
            "p_original": _rounded(result.p_original), "p_harmonized": _rounded(result.p_harmonized),
            "not_in_domain": result.domain_reason,
            "anatomy_kept": None if result.structure is None else result.structure.kept,
        }

    def report(self, outcome: dict | Exception) -> int:
        """Print one image's line (stdout) or error (stderr); 1 if it was an error."""
        if isinstance(outcome, Exception):
            print(f"error: {outcome}", file=sys.stderr)
            return 1
        if self.args.json:
            print(json.dumps(outcome), flush=True)
        else:
            p = (f"P n/a ({outcome['not_in_domain']})" if outcome["not_in_domain"] else
                 "" if outcome["p_original"] is None else
                 f"P {outcome['p_original']:.0%} -> {outcome['p_harmonized']:.0%}")
            kept = "" if outcome["anatomy_kept"] is not False else "  WARNING anatomy changed"
            print(f"{Path(outcome['input']).name} -> {outcome['output']}  "
                  f"SSIM {outcome['ssim_to_input']:.4f}  "
                  f"W1 {outcome['w1_before']:.4f} -> {outcome['w1_after']:.4f}  {p}  "
                  f"{outcome['time_ms']:.0f} ms{kept}", flush=True)
        return 0


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _choose_generalizer(args: argparse.Namespace, profile):
    from xray_harmonizer.generalizers.histogram import HistogramMatching

    if args.model is not None:
        from xray_harmonizer.generalizers.registry import neural_generalizer
        from xray_harmonizer.models.package import PackageError, load_package

        try:
            return neural_generalizer(load_package(args.model))
        except PackageError as exc:
            raise ValueError(str(exc)) from None
    if args.method is not None and args.method.lower() in ("histogram", "histogram-matching"):
        return HistogramMatching(profile, masked=not args.whole_image)
    from xray_harmonizer.generalizers.registry import discover_generalizers, select_generalizer

    generalizers, _ = discover_generalizers(profile)
    chosen = select_generalizer(generalizers, args.method)
    if args.whole_image and chosen.kind == "histogram":
        return HistogramMatching(profile, masked=False)
    return chosen


def _unique(path: Path, used: set[Path]) -> Path:
    """Two inputs with the same stem in one batch must not overwrite each other's output, and no
    output may land on an input; an output of an earlier run is replaced."""
    candidate, n = path, 1
    while candidate.resolve() in used:
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    used.add(candidate.resolve())
    return candidate


if __name__ == "__main__":
    raise SystemExit(main())
