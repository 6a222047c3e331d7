"""Regenerate the bundled sample study from the shared data (run from the repository root).

    python resources/samples/make_samples.py [--data ../shared/data]

Each sample is a real, licence-clean chest X-ray (see ATTRIBUTION.md) resized to a 1024 px long
side and re-imaged through one of the site simulator's profiles (training/sitesim), so that the
app opens on images that are visibly *not* from the reference site. Written as identity-free
12-bit DICOM (one MONOCHROME1), JPEG 2000 lossless to keep the folder small.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.uid import JPEG2000Lossless

from training.sitesim import apply_site, load_site_profile
from training.sitesim.output import write_dicom

HERE = Path(__file__).resolve().parent
LONG_SIDE = 1024
BITS = 12
# (output name, source file in cxr/fullres, site profile, photometric, modality, seed)
SAMPLES = (
    ("sample1_kermany_normal_site_moderate.dcm", "IM-0434-0001.png", "site_moderate",
     "MONOCHROME2", "CR", 1),
    ("sample2_kermany_pneumonia_site_mono1_dr.dcm", "person1251_bacteria_3208.png",
     "site_mono1_dr", "MONOCHROME1", "DX", 2),
    ("sample3_nih_normal_site_severe.dcm", "00018784_000.png", "site_severe", "MONOCHROME2",
     "CR", 3),
)


def load_resized(path: Path) -> np.ndarray:
    """8-bit PNG -> float32 [0, 1], long side LONG_SIDE (Lanczos), aspect kept."""
    with Image.open(path) as im:
        im = im.convert("L")
        scale = LONG_SIDE / max(im.size)
        size = (round(im.size[0] * scale), round(im.size[1] * scale))
        im = im.resize(size, Image.Resampling.LANCZOS) if scale < 1 else im
        return np.asarray(im, dtype=np.float32) / 255.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    args = parser.parse_args(argv)
    for name, source, site, photometric, modality, seed in SAMPLES:
        image = load_resized(args.data / "cxr" / "fullres" / source)
        shifted = apply_site(image, load_site_profile(site), seed=seed)
        with tempfile.TemporaryDirectory() as tmp:
            raw = write_dicom(shifted, Path(tmp) / name, bits=BITS, photometric=photometric,
                              modality=modality, description=f"sample, {site}")
            ds = pydicom.dcmread(raw)
        ds.PatientName = "SAMPLE^ANONYMOUS"
        ds.PatientID = "SAMPLE"
        ds.compress(JPEG2000Lossless)
        ds.save_as(HERE / name, enforce_file_format=True)
        print(f"{name}: {ds.Columns}x{ds.Rows} {photometric} {modality} from {source} via {site}, "
              f"{(HERE / name).stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
