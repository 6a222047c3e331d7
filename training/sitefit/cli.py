"""``xray-harmonizer train site``: fit a generalizer to a site's own unlabeled images, in one
command (the training wizard runs this same command in a child process and shows it).

    xray-harmonizer train site SITE_DIR [--method universal|cyclegan|unit|histogram] [--preset quick]
        [--reference bundled|REF_DIR --reference-id ID] [--reference-images DIR]
        [--holdout 0.2] [--labels CSV|nlm] [--name NAME] [--device auto|cpu|cuda]
        [--run-dir DIR] [--resume] [--estimate] [--train-only]

Scan (left-out files named with the reason) -> hold out a share of the patients -> train
(checkpoints, --resume continues a killed run) -> evaluate on the held-out images -> install
the package, named, in the user's model folder. ``--estimate`` times a short trial instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from training.sitefit.job import BUNDLED, METHODS, default_runs_dir
from training.sitefit.scan import MIN_IMAGES, scan_folder
from training.sitefit.service import make_plan, run_profile, save_json

log = logging.getLogger("training.sitefit")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="xray-harmonizer train site", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("site", type=Path, help="folder of the site's images (DICOM/PNG/JPEG, "
                                           "searched recursively)")
    p.add_argument("--method", choices=METHODS, default="universal")
    p.add_argument("--preset", choices=("quick", "full", "tiny"), default="quick")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--holdout", type=float, default=0.2,
                   help="share of the site's patients kept for the evaluation (default 0.2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reference", default=BUNDLED,
                   help="'bundled' (the app's reference site) or a folder of reference images")
    p.add_argument("--reference-id", default=None, help="id of a reference folder's site")
    p.add_argument("--reference-images", type=Path, default=None,
                   help="images of the bundled reference site (needed by cyclegan/unit)")
    p.add_argument("--name", default=None, help="name of the installed package")
    p.add_argument("--labels", default=None,
                   help="labels of the site's images for AUC/specificity: a CSV with file,label "
                        "columns, or 'nlm' for the NLM naming (CHNCXR_0001_0.png)")
    p.add_argument("--steps", type=int, default=None, help="override the preset's step count")
    p.add_argument("--preview-every", type=int, default=0)
    p.add_argument("--min-images", type=int, default=MIN_IMAGES)
    p.add_argument("--run-dir", type=Path, default=None)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--estimate", action="store_true",
                   help="time a short trial and print the estimate as JSON; trains nothing")
    p.add_argument("--train-only", action="store_true",
                   help="stop after training (the wizard evaluates and installs itself)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--nice", type=int, default=0,
                   help="lower this process's CPU priority (the app starts training at 10, so "
                        "its window stays responsive on a busy CPU)")
    p.add_argument("--models-dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.reference != BUNDLED and not args.reference_id:
        p.error("--reference DIR needs --reference-id")
    if not 0 < args.holdout < 1:
        p.error("--holdout must be between 0 and 1")
    return args


def plan(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    """Scan and split once per run; a resumed run reuses the plan (the same held-out patients)."""
    path = run_dir / "plan.json"
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if (saved["site"], saved["holdout"], saved["seed"]) == (
                str(args.site.resolve()), args.holdout, args.seed):
            return saved
    scan = scan_folder(args.site)
    for refusal in scan.refused:
        print(f"left out: {refusal}", file=sys.stderr)
    if len(scan.accepted) < args.min_images:
        raise SystemExit(f"error: {args.site}: {len(scan.accepted)} usable images, at least "
                         f"{args.min_images} needed ({scan.refused_by_reason() or 'none left out'})")
    result = make_plan(scan, args.holdout, args.seed)
    link_files([Path(p) for p in result["train"]], run_dir / "site-train")
    save_json(path, result)
    return result


def link_files(files: list[Path], folder: Path) -> None:
    """The training images as one flat folder of links (copies where links are not allowed);
    numbered, since a recursive scan can find the same name twice."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for k, file in enumerate(files):
        target = folder / f"{k:05d}-{file.name}"
        try:
            os.symlink(file.resolve(), target)
        except OSError:
            shutil.copy2(file, target)


def reference(args: argparse.Namespace, run_dir: Path) -> tuple[Any, str, Path | None]:
    """(profile, reference id, folder of reference images or None)."""
    profile = run_profile(run_dir, args.reference, args.reference_id)
    if args.reference == BUNDLED:
        if args.method != "histogram" and args.reference_images is None:
            raise SystemExit(f"error: {args.method} learns from the reference site's images: give "
                             "--reference-images DIR (or --reference DIR --reference-id ID)")
        return profile, profile.site_id, args.reference_images
    return profile, args.reference_id, Path(args.reference)


def gan_argv(args: argparse.Namespace, run_dir: Path, ref_images: Path, ref_id: str,
             held_out: list[str], resume: bool) -> list[str]:
    a = ["--arch", args.method, "--reference", str(ref_images), "--reference-id", ref_id,
         "--site", str(run_dir / "site-train"), "-o", str(run_dir / "package"),
         "--preset", args.preset, "--seed", str(args.seed), "--run-dir", str(run_dir),
         "--events", str(run_dir / "events.jsonl"), "--name", args.name or run_dir.name,
         "--resume-hint", resume_command(args)]
    if args.device != "auto":
        a += ["--device", args.device]
    if args.steps is not None:
        a += ["--steps", str(args.steps)]
    if args.preview_every:
        a += ["--preview-every", str(args.preview_every), "--preview-image", held_out[0]]
    if args.no_progress:
        a.append("--no-progress")
    if resume:
        a.append("--resume")
    return a


# Steps and chain candidates of the fine-tune per preset (training.universal.finetune).
UNIVERSAL_PRESETS = {"tiny": (6, 8), "quick": (500, 192), "full": (2000, 384)}


def universal_argv(args: argparse.Namespace, run_dir: Path, base: Path, ref_images: Path,
                   held_out: list[str], resume: bool) -> list[str]:
    steps, candidates = UNIVERSAL_PRESETS[args.preset]
    a = ["--base", str(base), "--site", str(run_dir / "site-train"), "--reference", str(ref_images),
         "-o", str(run_dir / "package"), "--seed", str(args.seed), "--run-dir", str(run_dir),
         "--events", str(run_dir / "events.jsonl"), "--name", args.name or run_dir.name,
         "--steps", str(args.steps if args.steps is not None else steps),
         "--candidates", str(candidates), "--resume-hint", resume_command(args)]
    if args.preview_every:
        a += ["--preview-every", str(args.preview_every), "--preview-image", held_out[0]]
    if resume:
        a.append("--resume")
    return a


def resume_command(args: argparse.Namespace) -> str:
    """This very command with ``--resume`` (what Ctrl+C tells the user to run)."""
    words = ["xray-harmonizer", "train", "site", *args.argv]
    return " ".join(shlex.quote(w) for w in words + ([] if args.resume else ["--resume"]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.nice and hasattr(os, "nice"):
        os.nice(args.nice)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_dir = args.run_dir or default_runs_dir() / (
        args.name or f"{args.site.resolve().name}-{args.method}-{args.preset}")
    run_dir.mkdir(parents=True, exist_ok=True)
    the_plan = plan(args, run_dir)
    print(f"site: {the_plan['scan']['usable']} usable images of "
          f"{the_plan['scan']['patients']} patients; training on {len(the_plan['train'])}, "
          f"{len(the_plan['held_out'])} held out ({the_plan['held_out_patients']} patients)")
    profile, ref_id, ref_images = reference(args, run_dir)
    base = None
    if args.method == "universal":
        from training.sitefit.service import universal_base

        from xray_harmonizer.models.discovery import bundled_models_dir, user_models_dir

        base = universal_base([bundled_models_dir(), args.models_dir or user_models_dir()])
        if base is None:
            raise SystemExit("error: no universal generalizer with weights is installed to "
                             "fine-tune; choose cyclegan, unit or histogram")
    if args.estimate:
        from training.sitefit.estimate import estimate

        print(json.dumps(estimate(args, ref_images, the_plan, base)))
        return 0
    if base is not None:
        from training.universal.finetune import main as finetune_main

        started = time.perf_counter()
        code = finetune_main(universal_argv(args, run_dir, base, ref_images,
                                            the_plan["held_out"], args.resume))
        if code:
            return code
        print(f"trained in {time.perf_counter() - started:.0f} s -> {run_dir / 'package'}")
    elif args.method != "histogram":
        from training.gan.train import main as train_main

        started = time.perf_counter()
        code = train_main(gan_argv(args, run_dir, ref_images, ref_id, the_plan["held_out"],
                                   args.resume))
        if code:
            return code
        print(f"trained in {time.perf_counter() - started:.0f} s -> {run_dir / 'package'}")
    if args.train_only:
        return 0
    return finish(args, run_dir, the_plan, profile)


def finish(args: argparse.Namespace, run_dir: Path, the_plan: dict[str, Any],
           profile: Any) -> int:
    """Evaluate on the held-out images, then install (GAN) or save the profile (histogram)."""
    from training.sitefit.evaluate import evaluate, read_labels
    from training.sitefit.install import install_package
    from training.sitefit.service import (held_out_files, load_generalizer, load_installed_classifier,
                                          site_record)

    files = held_out_files(the_plan)
    generalizer = load_generalizer(args.method, run_dir, profile)
    labels = classifier = None
    if args.labels:
        classifier = load_installed_classifier()
        labels = read_labels(args.labels, files, getattr(classifier, "label", ""))
    ev = evaluate(generalizer, files, profile, labels=labels, classifier=classifier)
    (run_dir / "evaluation.json").write_text(json.dumps(ev.figures(), indent=1) + "\n",
                                             encoding="utf-8")
    print(ev.verdict())
    if args.method == "histogram":
        print("histogram matching needs no package: the app's histogram matching uses the "
              f"reference profile ({profile.site_id})")
        return 0
    name = args.name or run_dir.name
    target = install_package(run_dir / "package", name,
                             site=site_record(args.site, the_plan, args.method, args.preset),
                             evaluation=ev.figures(), models_dir=args.models_dir)
    print(f"installed {name} -> {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
