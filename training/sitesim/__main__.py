"""``python -m training.sitesim --profile NAME_OR_FILE --seed 0 -o OUTDIR INPUTS...``

Each input (file, or folder of PNG/JPEG/TIFF/DICOM files) is re-imaged through the site profile
with a per-image seed derived from the run seed and the file name, and written to OUTDIR under
the same stem. ``OUTDIR/sitesim.json`` records the profile, seed and per-image draws.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

import numpy as np

from .output import FORMATS, write_image
from .profile import load_site_profile
from .simulate import apply_site_with_draws, seed_for

log = logging.getLogger("training.sitesim")
SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".dcm", ".dicom"}


def read_image(path: Path) -> np.ndarray:
    """float32 (H, W) presentation image in [0, 1], through the app's loader (DICOM and rasters)."""
    from xray_harmonizer.io import open_image

    return open_image(path).pixels


def expand_inputs(inputs: list[str]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix.lower() in SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return files


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m training.sitesim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", required=True, help="bundled profile name or a profile JSON file")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", required=True, type=Path, help="output folder")
    ap.add_argument("--format", choices=FORMATS, default="png16")
    ap.add_argument("--photometric", choices=("MONOCHROME1", "MONOCHROME2"), default=None,
                    help="DICOM photometric interpretation (default: the profile's)")
    ap.add_argument("--bits", type=int, default=None, help="output bit depth (default: the profile's)")
    ap.add_argument("--modality", choices=("CR", "DX"), default=None)
    ap.add_argument("inputs", nargs="+", help="image files or folders")
    return ap


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        profile = load_site_profile(args.profile)
        overrides = {k: v for k, v in (("photometric", args.photometric), ("bits", args.bits),
                                       ("modality", args.modality)) if v is not None}
        profile = dataclasses.replace(profile, **overrides)
        files = expand_inputs(args.inputs)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    ext = ".dcm" if args.format == "dcm" else ".png"
    record = {"profile": profile.to_dict(), "seed": args.seed, "format": args.format, "images": []}
    failures = 0
    for f in files:
        out = args.output / (f.stem + ext)
        if out.resolve() == f.resolve():
            print(f"error: {f}: refusing to overwrite an input", file=sys.stderr)
            return 2
        try:
            image = read_image(f)
            seed = seed_for(f.name, args.seed)
            y, draws = apply_site_with_draws(image, profile, seed)
            write_image(y, out, args.format, bits=profile.bits, photometric=profile.photometric,
                        modality=profile.modality)
        except Exception as exc:  # one bad file must not stop a folder
            failures += 1
            print(f"error: {f}: {exc}", file=sys.stderr)
            continue
        record["images"].append({"input": f.name, "output": out.name, "seed": seed,
                                 "draws": {k: v for k, v in dataclasses.asdict(draws).items()
                                           if k != "text_mask"}})
    (args.output / "sitesim.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %d image(s) to %s", len(record["images"]), args.output)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
