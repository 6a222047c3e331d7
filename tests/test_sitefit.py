"""The site-fit API and ``xray-harmonizer train site`` / ``models`` (issue 11)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from training.sitefit.evaluate import Evaluation, read_labels
from training.sitefit.job import FitRequest, read_events
from training.sitefit.scan import hold_out, patient_from_name, scan_folder

REPO = Path(__file__).resolve().parents[1]


def make_site(root: Path, kermany: Path, n: int = 24, start: int = 0) -> Path:
    """``n`` Kermany images and their manifest (patients, labels) in a new folder."""
    rows = list(csv.DictReader((kermany / "manifest.csv").open(encoding="utf-8")))
    rows = [r for r in rows if min(int(r["width"]), int(r["height"])) >= 256][start:start + n]
    root.mkdir(parents=True)
    with (root / "manifest.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for r in rows:
        shutil.copy(kermany / r["file"], root / r["file"])
    return root


def test_scan_names_every_reason_and_keeps_the_rest(tmp_path: Path, kermany_dir: Path,
                                                    dicom_dir: Path) -> None:
    """A site folder holds more than chest X-rays; each left-out file must say why, and a hip
    or knee DICOM must never reach training (it would teach the GAN the wrong anatomy)."""
    from PIL import Image

    site = make_site(tmp_path / "site", kermany_dir, n=6)
    sub = site / "sub"
    sub.mkdir()
    first = sorted(site.glob("*.png"))[0]
    shutil.copy(first, sub / "copy-of-first.png")  # duplicate, in a sub-folder
    Image.fromarray(np.full((100, 120), 90, np.uint8)).save(site / "icon.png")  # too small
    (site / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n damaged")  # unreadable
    (site / "notes.pdf").write_bytes(b"%PDF-1.4")  # a document: skipped, not an image
    for name in ("RG2_UNC.dcm", "RG3_UNC.dcm", "RG2_JPLY_broken.dcm"):
        shutil.copy(dicom_dir / name, site / name)
    result = scan_folder(site)
    assert len(result.accepted) == 6 and len(result.thumbnails) == 6
    reasons = {r.path.name: (r.reason, r.detail) for r in result.refused}
    assert reasons["copy-of-first.png"][0] == "duplicate"
    assert reasons["icon.png"][0] == "too small"
    assert reasons["RG2_UNC.dcm"] == ("not a chest radiograph", "BodyPartExamined HIP")
    assert reasons["RG3_UNC.dcm"] == ("not a chest radiograph", "BodyPartExamined EXTREMITY")
    assert reasons["RG2_JPLY_broken.dcm"][0] == "unreadable"
    assert reasons["scan.png"][0] == "unreadable" and "notes.pdf" not in reasons
    # Patients come from the folder's manifest (Kermany: IM-0129-0001 -> IM-0129).
    rows = {r["file"]: r["patient"] for r in csv.DictReader((site / "manifest.csv").open())}
    assert all(item.patient == rows[item.path.name] for item in result.accepted)


def test_hold_out_is_by_patient_and_reproducible() -> None:
    """A patient's images on both sides would let the evaluation see training patients."""
    from training.sitefit.scan import ScanItem

    items = [ScanItem(Path(f"p{p}_{k}.png"), f"p{p}", (512, 512)) for p in range(30)
             for k in range(1 + p % 3)]
    train, held = hold_out(items, 0.2, seed=3)
    assert {i.patient for i in train}.isdisjoint({i.patient for i in held})
    assert len({i.patient for i in held}) == 6 and len(train) + len(held) == len(items)
    assert hold_out(items, 0.2, seed=3) == (train, held)
    with pytest.raises(ValueError):
        hold_out(items[:1], 0.2)
    assert patient_from_name("00000075_000.png") == "00000075"
    assert patient_from_name("CHNCXR_0001_0.png") == "CHNCXR_0001"
    assert patient_from_name("IM-0129-0001.png") == "IM-0129"


def test_evaluation_uses_the_apps_structure_guard_not_ssim(tmp_path: Path,
                                                           kermany_dir: Path) -> None:
    """SSIM(output, input) called a good harmonizer 'structure changed' on a strongly shifted
    site (0.43; the truth itself scores 0.39): an intensity map keeps the structure, a painted
    blotch does not."""
    from training.sitefit.evaluate import evaluate
    from xray_harmonizer.reference.profile import load_profile

    files = sorted(kermany_dir.glob("*.png"))[:3]

    class Remap:
        name = "remap"

        def harmonize(self, image: np.ndarray) -> np.ndarray:
            return np.clip(0.1 + 0.6 * image ** 2.2, 0, 1).astype(np.float32)

    class Blotch(Remap):
        def harmonize(self, image: np.ndarray) -> np.ndarray:
            out = image.copy()
            h, w = out.shape
            out[h // 5: 4 * h // 5, w // 6: w // 2] = 0.5  # an erased lung
            return out

    remapped = evaluate(Remap(), files, load_profile())
    assert remapped.ssim < 0.8 and remapped.structure_kept
    blotched = evaluate(Blotch(), files, load_profile())
    assert blotched.structure_flagged == 3 and "changes structure" in blotched.verdict()


def test_labels_csv_and_nlm_naming(tmp_path: Path) -> None:
    files = [tmp_path / "CHNCXR_0001_0.png", tmp_path / "CHNCXR_0002_1.png", tmp_path / "x.png"]
    assert read_labels("nlm", files) == {files[0]: 0, files[1]: 1}
    (tmp_path / "labels.csv").write_text("file,label\nx.png,Pneumonia\nCHNCXR_0001_0.png,normal\n")
    assert read_labels(tmp_path / "labels.csv", files, "Pneumonia") == {files[2]: 1, files[0]: 0}
    (tmp_path / "bad.csv").write_text("name,y\n")
    with pytest.raises(ValueError):
        read_labels(tmp_path / "bad.csv", files)


def test_verdict_warns_plainly_when_structure_changes() -> None:
    good = Evaluation(images=10, ssim=0.45, ssim_min=0.4, structure_flagged=0,
                      structure_worst=0.02, w1_before=0.05, w1_after=0.011)
    assert good.verdict().startswith("Good enough to use: structure kept in all 10 images "
                                     "(SSIM 0.45); distance to the reference down 78%")
    bad = Evaluation(images=10, ssim=0.55, ssim_min=0.4, structure_flagged=3,
                     structure_worst=0.4, w1_before=0.05, w1_after=0.01)
    assert bad.verdict().startswith("Not recommended: WARNING: the model changes structure in "
                                    "3 of 10 images")
    figures = good.figures()
    assert figures["w1_change"] == -0.78 and "verdict" in figures and "examples" not in figures


def test_request_is_the_command_line(tmp_path: Path) -> None:
    """The wizard shows this command; it must parse to the same run."""
    from training.sitefit.cli import parse_args

    req = FitRequest(site=tmp_path / "my site", run_dir=tmp_path / "run", method="unit",
                     preset="tiny", reference=str(tmp_path / "ref"), reference_id="hosp-b",
                     name="m1", labels="nlm", steps=7)
    line = req.command_line()
    assert line.startswith("xray-harmonizer train site ") and "'" in line  # quoted space
    args = parse_args(req.args())
    assert (args.method, args.preset, args.reference_id, args.steps, args.name) == (
        "unit", "tiny", "hosp-b", 7, "m1")
    with pytest.raises(ValueError):
        FitRequest(site=tmp_path, run_dir=tmp_path, reference=str(tmp_path))  # no id


def test_events_reader_skips_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "start", "step": 0}\n{"event": "st')
    events, offset = read_events(path)
    assert [e["event"] for e in events] == ["start"]
    with path.open("a") as f:
        f.write('ep", "step": 1}\n')
    more, _ = read_events(path, offset)
    assert more == [{"event": "step", "step": 1}]


def test_train_site_cli_installs_a_package_that_models_lists(tmp_path: Path,
                                                              kermany_dir: Path) -> None:
    """One command: scan, hold out, train, evaluate, install; ``models`` then shows the site,
    the reference and the figures."""
    site = make_site(tmp_path / "hospital-x", kermany_dir, n=22)
    ref = make_site(tmp_path / "ref", kermany_dir, n=8, start=100)
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "OMP_NUM_THREADS": "1",
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "xray_harmonizer.cli", "train", "site", str(site),
           "--method", "unit", "--preset", "tiny", "--reference-images", str(ref),
           "--labels", str(site / "manifest.csv"), "--name", "hospital-x-unit",
           "--run-dir", str(tmp_path / "run"), "--no-progress"]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "installed hospital-x-unit" in out.stdout
    manifest = json.loads((tmp_path / "xdg" / "xray-harmonizer" / "models" / "hospital-x-unit"
                           / "manifest.json").read_text())
    assert manifest["reference_site"] == "kermany-pediatric"
    assert manifest["site"]["site"] == "hospital-x" and manifest["site"]["usable_images"] == 22
    assert manifest["evaluation"]["images"] == manifest["site"]["held_out_images"] > 0
    plan = json.loads((tmp_path / "run" / "plan.json").read_text())
    assert not set(plan["train"]) & set(plan["held_out"])
    listed = subprocess.run([sys.executable, "-m", "xray_harmonizer.cli", "models", "--json"],
                            cwd=REPO, capture_output=True, text=True, env=env, timeout=120)
    rows = {r["name"]: r for r in map(json.loads, listed.stdout.splitlines())}
    mine = rows["hospital-x-unit"]
    assert (mine["site"], mine["reference"]) == ("hospital-x", "kermany-pediatric")
    assert "ssim" in mine["figures"] and "w1_after" in mine["figures"]
    assert rows["cyclegan-kermany-quick"]["site"] == "site_severe"  # bundled ones listed too


def test_train_site_refuses_a_folder_without_enough_images(tmp_path: Path,
                                                           dicom_dir: Path) -> None:
    site = tmp_path / "knees"
    site.mkdir()
    for name in ("RG2_UNC.dcm", "RG3_UNC.dcm"):
        shutil.copy(dicom_dir / name, site / name)
    out = subprocess.run([sys.executable, "-m", "xray_harmonizer.cli", "train", "site", str(site),
                          "--method", "histogram", "--run-dir", str(tmp_path / "run")],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "0 usable images, at least 20 needed" in out.stderr
    assert "RG2_UNC.dcm: not a chest radiograph (BodyPartExamined HIP)" in out.stderr


def _tiny_universal_base(models: Path, kermany: Path) -> Path:
    """A universal package with weights (4 steps at 64 px) installed in ``models``."""
    from training.universal.train import main as train_main

    out = models / "universal-tiny"
    assert train_main(["-o", str(out), "--name", "universal-tiny", "--steps", "2", "--limit", "4",
                       "--eval-images", "2", "--working-size", "64", "--eval-every", "2",
                       "--ssim-weight", "0.8",
                       "--run-dir", str(models.parent / "base-run"), "--reference", str(kermany)]) == 0
    return out


def test_train_site_universal_fine_tunes_and_installs(tmp_path: Path, kermany_dir: Path) -> None:
    """The fast path end to end: catches a universal fit that cannot find its base package,
    installs nothing, leaves the base unrecorded (which weights it started from) or writes a
    package the app cannot load; a resume that searches the chains again (the kept chains
    of an interrupted run are reused); and a fit that trains with another SSIM weight than its
    base's (it would pull the base's rendering towards another loss)."""
    models = tmp_path / "models"
    _tiny_universal_base(models, kermany_dir)
    site = make_site(tmp_path / "hospital-u", kermany_dir, n=22)
    ref = make_site(tmp_path / "ref", kermany_dir, n=8, start=100)
    cmd = [sys.executable, "-m", "xray_harmonizer.cli", "train", "site", str(site),
           "--method", "universal", "--preset", "tiny", "--reference-images", str(ref),
           "--name", "hospital-u-universal", "--run-dir", str(tmp_path / "run"),
           "--models-dir", str(models), "--no-progress", "--preview-every", "3"]
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "OMP_NUM_THREADS": "1",
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "installed hospital-u-universal" in out.stdout
    manifest = json.loads((models / "hospital-u-universal" / "manifest.json").read_text())
    assert manifest["generalizer_kind"] == "universal" and manifest["site"]["site"] == "hospital-u"
    fit = manifest["training"]["fine_tune"]
    from training.sitefit.service import universal_base
    from xray_harmonizer.models.discovery import bundled_models_dir

    used = universal_base([bundled_models_dir(), models])  # the bundled one first, if it has weights
    base = json.loads((used / "manifest.json").read_text())
    assert fit["base"]["sha256"] == base["files"]["generator.onnx"]
    assert len(fit["chains"]) == 8 and fit["site_images"] == len(
        json.loads((tmp_path / "run" / "plan.json").read_text())["train"])
    assert manifest["input"]["transfer"] == "affine+residual"
    from xray_harmonizer.generalizers.neural import NeuralGeneralizer

    assert universal_base([models]) == models / "universal-tiny"  # a site fit is never a base
    g = NeuralGeneralizer(models / "hospital-u-universal", use_gpu=False)
    img = np.random.default_rng(0).random((300, 250), dtype=np.float32)
    assert g.harmonize(img).shape == img.shape
    kinds = [e["event"] for e in read_events(tmp_path / "run" / "events.jsonl")[0]]
    assert kinds[0] == "start" and "preview" in kinds and kinds[-1] == "done"
    # Resuming a finished fit's run folder reuses the saved chain search.
    chains = (tmp_path / "run" / "chains.json").read_text()
    from training.universal.finetune import main as finetune_main

    assert finetune_main(["--base", str(models / "universal-tiny"), "--site", str(site),
                          "--reference", str(ref), "-o", str(tmp_path / "again"), "--steps", "6",
                          "--candidates", "3", "--run-dir", str(tmp_path / "run"), "--resume"]) == 0
    assert (tmp_path / "run" / "chains.json").read_text() == chains
    again = json.loads((tmp_path / "again" / "manifest.json").read_text())["training"]["fine_tune"]
    assert again["settings"]["ssim_weight"] == 0.8


def test_chain_search_ranks_the_sites_own_chain_first(kermany_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Catches a search that sorts the wrong way, mis-scales its statistics or measures
    something a chain does not change: among random candidates plus the chain that really made
    the site (site_severe, on other patients than the probes), that chain comes first."""
    from training.classifier.dataset import discover, load_image
    from training.sitesim import apply_site, load_site_profile
    from training.universal import finetune
    from xray_harmonizer.imaging.transfer import resize, working_shape

    truth = load_site_profile("site_severe")
    samples = discover(kermany_dir)
    images = [load_image(s.path) for s in samples[:14]]
    small = [resize(im, working_shape(im.shape, 128)) for im in images]
    site = [apply_site(im, truth, k) for k, im in enumerate(small[:8])]
    candidates = iter(range(12))
    real = finetune.random_chain

    def draw(rng: np.random.Generator, name: str = "random"):
        k = next(candidates)
        return truth if k == 5 else real(rng, name=name)

    monkeypatch.setattr(finetune, "random_chain", draw)
    kept = finetune.search_chains(site, small[8:], 1.0, finetune.FitSettings(candidates=12, keep=3))
    assert kept[0][0] is truth and kept[0][1] < kept[1][1] <= kept[2][1]
