"""Build and calibrate the classifier's domain guard (``xray_harmonizer/classifier/domain.py``).

    python -m benchmarks.domain_calibration [--package resources/models/classifier-kermany-pneumonia]

1. Exports the classifier's penultimate features as a second ONNX output ``features`` (an
   Identity on the input of the final Gemm; the probability is unchanged), if not there yet.
2. Fits the reference on Kermany's train split + the NIH patients with an even id (adult chests
   belong to the domain).
3. Thresholds: the largest score of any in-domain image (all Kermany, all NIH, the full-res
   originals, the bundled samples, RG1) times 1.02; a held-out check re-chooses them on Kermany
   val + NIH-even only and counts what it would refuse of Kermany test + NIH-odd.
4. Scores the out-of-domain sets: WG04 RG2 hip / RG3 lower leg (pixels only: the tags are a
   separate check), the pydicom CT and MR test slices, scikit-image's bundled photos, and
   synthetic noise / blank / gradient images.
5. Writes ``domain_reference.npz`` and the manifest's ``domain`` section and file hashes, and
   ``benchmarks/results/domain_guard.{json,md}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
from pathlib import Path

import numpy as np

from xray_harmonizer.classifier.domain import DomainReference, layout_vector
from xray_harmonizer.classifier.preprocess import prepare_batch
from xray_harmonizer.io import open_image
from xray_harmonizer.models.package import sha256_file

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results"
MARGIN = 1.02
MIN_CONTRAST = 0.02
# One NIH image is stored with inverted polarity (lungs bright, bones dark): the classifier
# would read it wrongly, and the guard refuses it (it is scored as its own row, not used to
# set the thresholds).
INVERTED_NIH = "00017625_000.png"


def export_features(onnx_path: Path) -> bool:
    """Add the ``features`` output (the final Gemm's input); False if it is already there."""
    import onnx

    model = onnx.load(onnx_path)
    if any(o.name == "features" for o in model.graph.output):
        return False
    gemm = [n for n in model.graph.node if n.op_type == "Gemm"][-1]
    model.graph.node.append(onnx.helper.make_node("Identity", [gemm.input[0]], ["features"]))
    model.graph.output.append(onnx.helper.make_tensor_value_info(
        "features", onnx.TensorProto.FLOAT, ["batch", None]))
    onnx.checker.check_model(model)
    onnx.save(model, onnx_path)
    return True


def _gray01(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        image = image[..., :3].mean(axis=2)
    lo, hi = image.min(), image.max()
    return ((image - lo) / max(hi - lo, 1e-9)).astype(np.float32)


def in_domain_sets(package: Path) -> dict[str, list[np.ndarray]]:
    splits = json.loads((package / "splits.json").read_text())
    ker = DATA / "cxr" / "kermany"
    train, val = set(splits["train"]), set(splits["val"])
    rest = sorted(p.name for p in ker.glob("*.png") if p.name not in train | val)
    with open(DATA / "cxr" / "nih" / "manifest.csv", newline="") as fh:
        nih = [(r["file"], int(r["patient"])) for r in csv.DictReader(fh)]

    def load(paths) -> list[np.ndarray]:
        return [open_image(p).pixels for p in paths]

    return {
        "kermany_train": load(ker / f for f in splits["train"]),
        "nih_even": load(DATA / "cxr" / "nih" / f for f, pid in nih if pid % 2 == 0),
        "kermany_val": load(ker / f for f in splits["val"]),
        "kermany_test": load(ker / f for f in rest),
        "nih_odd": load(DATA / "cxr" / "nih" / f for f, pid in nih
                        if pid % 2 == 1 and f != INVERTED_NIH),
        "fullres": load(sorted((DATA / "cxr" / "fullres").glob("*.png"))),
        "samples": load(sorted((REPO / "resources" / "samples").glob("*.dcm"))),
        "rg1_chest": load([DATA / "dicom" / "RG1_J2KI.dcm"]),
    }


def out_of_domain_sets() -> dict[str, list[np.ndarray]]:
    import pydicom
    import pydicom.data
    import skimage.data

    photos = ["camera", "coffee", "astronaut", "chelsea", "coins", "moon", "page", "text",
              "brick", "grass", "gravel", "rocket", "horse", "cell", "retina",
              "hubble_deep_field", "immunohistochemistry", "clock", "logo", "colorwheel"]
    rng = np.random.default_rng(0)
    ramp = np.tile(np.linspace(0, 1, 512, dtype=np.float32), (512, 1))
    return {
        "nih_inverted_polarity": [open_image(DATA / "cxr" / "nih" / INVERTED_NIH).pixels],
        "rg2_hip": [open_image(DATA / "dicom" / "RG2_UNC.dcm").pixels],
        "rg3_lower_leg": [open_image(DATA / "dicom" / "RG3_UNC.dcm").pixels],
        "ct_mr_slices": [_gray01(pydicom.dcmread(pydicom.data.get_testdata_file(f)).pixel_array)
                         for f in ("CT_small.dcm", "MR_small.dcm")],
        "phantom": [_gray01(skimage.data.shepp_logan_phantom())],
        "photos": [_gray01(getattr(skimage.data, n)()) for n in photos],
        "synthetic": [rng.random((512, 512), dtype=np.float32),
                      np.clip(rng.normal(0.5, 0.1, (512, 512)), 0, 1).astype(np.float32),
                      np.zeros((512, 512), np.float32), np.full((512, 512), 0.5, np.float32),
                      ramp],
    }


def crops_and_features(session, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    crops, feats = [], []
    for i in range(0, len(images), 32):
        x = prepare_batch(images[i:i + 32], 224)
        feats.append(session.run(["features"], {"image": x})[0])
        crops.append(x[:, 0])
    return np.concatenate(crops), np.concatenate(feats)


def main(argv: list[str] | None = None) -> int:
    import onnxruntime as ort

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--package", type=Path,
                        default=REPO / "resources" / "models" / "classifier-kermany-pneumonia")
    args = parser.parse_args(argv)
    package = args.package
    manifest = json.loads((package / "manifest.json").read_text())
    export_features(package / manifest["entrypoint"])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(package / manifest["entrypoint"]), options,
                                   providers=["CPUExecutionProvider"])
    sets_in, sets_out = in_domain_sets(package), out_of_domain_sets()
    data = {k: crops_and_features(session, v) for k, v in {**sets_in, **sets_out}.items()}
    layouts = {k: np.stack([layout_vector(c) for c in crops]) for k, (crops, _) in data.items()}
    ref = DomainReference.fit(np.concatenate([layouts["kermany_train"], layouts["nih_even"]]),
                              np.concatenate([data["kermany_train"][1], data["nih_even"][1]]))
    score = {k: (ref.layout_score(layouts[k]), ref.feature_score(data[k][1]),
                 data[k][0].reshape(len(data[k][0]), -1).std(axis=1)) for k in data}

    def thresholds(names):
        return (MARGIN * max(score[k][0].max() for k in names),
                MARGIN * max(score[k][1].max() for k in names))

    lt, ft = thresholds(list(sets_in))
    ref = DomainReference(**{**ref.__dict__, "layout_threshold": float(lt),
                             "feature_threshold": float(ft), "min_contrast": MIN_CONTRAST})

    def refused(k, lt_, ft_):
        lay, fea, con = score[k]
        return int(((lay > lt_) | (fea > ft_) | (con < MIN_CONTRAST)).sum())

    held_lt, held_ft = thresholds(["kermany_train", "nih_even", "kermany_val"])
    rows = {k: {"n": len(score[k][0]), "in_domain": k in sets_in,
                "refused": refused(k, lt, ft),
                "layout_max": round(float(score[k][0].max()), 3),
                "layout_min": round(float(score[k][0].min()), 3),
                "features_max": round(float(score[k][1].max()), 3),
                "features_min": round(float(score[k][1].min()), 3)} for k in data}
    held = {k: refused(k, held_lt, held_ft) for k in ("kermany_test", "nih_odd")}
    thresholds_out = ref.save(package / "domain_reference.npz")
    manifest["domain"] = {"reference": "domain_reference.npz", **thresholds_out,
                          "calibration": "benchmarks/domain_calibration.py "
                                         "(benchmarks/results/domain_guard.md)"}
    manifest["files"] = {**manifest["files"],
                         manifest["entrypoint"]: sha256_file(package / manifest["entrypoint"]),
                         "domain_reference.npz": sha256_file(package / "domain_reference.npz")}
    (package / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    out = {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
           "package": package.name, "thresholds": thresholds_out, "sets": rows,
           "held_out": {"thresholds": {"layout": held_lt, "features": held_ft},
                        "refused": held, "n": {k: rows[k]["n"] for k in held}}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "domain_guard.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = ["# Domain guard calibration", "",
             "`python -m benchmarks.domain_calibration` (classifier "
             f"`{package.name}`). Thresholds: layout {lt:.3f}, features {ft:.3f}, contrast "
             f">= {MIN_CONTRAST}.", "",
             "| set | in domain | n | refused | layout min-max | features min-max |",
             "|---|---|---|---|---|---|"]
    for k, r in rows.items():
        lines.append(f"| {k} | {'yes' if r['in_domain'] else 'no'} | {r['n']} | {r['refused']} | "
                     f"{r['layout_min']:.2f}-{r['layout_max']:.2f} | "
                     f"{r['features_min']:.2f}-{r['features_max']:.2f} |")
    lines += ["", f"Held out (thresholds from Kermany train/val + NIH even ids only: layout "
              f"{held_lt:.3f}, features {held_ft:.3f}): refused {held['kermany_test']} of "
              f"{rows['kermany_test']['n']} Kermany test, {held['nih_odd']} of "
              f"{rows['nih_odd']['n']} NIH odd-id images.", ""]
    (RESULTS / "domain_guard.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
