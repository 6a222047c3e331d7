"""Record of a one-off check (2026-12-01): the 256 px network (v18) with its coarse band (above a
Gaussian of SIGMA px at 256) replaced by the 128 px network's (v17), on the validation split
(AUC / specificity / SSIM to truth) and the lesion benchmark's site_severe draw.

    OMP_NUM_THREADS=1 python training/universal/logs/test/band_swap_v17_v18.py SIGMA
"""
import sys
from pathlib import Path
REPO = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "benchmarks"))
import numpy as np
from scipy import ndimage
from benchmarks.protocol import DEFAULT_CLASSIFIER, DEFAULT_REFERENCE, simulated_site
from benchmarks.universal_checkpoints import SITES
from xray_harmonizer.classifier import ClassifierModel
from xray_harmonizer.generalizers.neural import NeuralGeneralizer
from xray_harmonizer.imaging.transfer import TransferConfig, resize, transfer, working_shape
from xray_harmonizer.metrics.roc import operating_point, roc_auc
from xray_harmonizer.metrics.ssim import ssim
from lesions import lesion_pair, created_blobs, blob_thresholds, kept_by_radius
from training.sitesim import load_site_profile
import json
from training.classifier.dataset import discover, load_image
g128 = NeuralGeneralizer(REPO / "runs/universal-v17-pkg", use_gpu=False)
g256 = NeuralGeneralizer(REPO / "runs/universal-v18-pkg", use_gpu=False)
sig = float(sys.argv[1])
cfg = TransferConfig(residual=True)
def ens(im, t=None):
    low = resize(im, working_shape(im.shape, 256))
    o256 = g256.run_network(low)
    o128 = g128.run_network(resize(im, working_shape(im.shape, 128)))
    up = resize(o128, low.shape)
    out = o256 - ndimage.gaussian_filter(o256, sig) + ndimage.gaussian_filter(up, sig)
    return transfer(im, low, np.clip(out, 0, 1).astype(np.float32), cfg)
clf = ClassifierModel(DEFAULT_CLASSIFIER)
for profile in [SITES[i] for i in (3, 5, 6, 7, 8)]:
    site = simulated_site(profile, DEFAULT_REFERENCE, Path(DEFAULT_CLASSIFIER) / "splits.json", 0, 60, "val")
    outs = [ens(im) for im in site.images]
    s = clf.predict_batch(outs)
    auc = roc_auc(site.labels, s, n_bootstrap=0, seed=0).auc
    _, spec = operating_point(site.labels, s, clf.threshold)
    print(f"{Path(profile).stem:14s} ens sigma {sig}: {auc:.3f}/{spec:.2f}/{np.mean([ssim(o, t) for o, t in zip(outs, site.truth)]):.3f}", flush=True)
prof = load_site_profile("site_severe")
names = json.loads((DEFAULT_CLASSIFIER / "splits.json").read_text())["test"][:24]
by = {x.name: x for x in discover(DEFAULT_REFERENCE)}
pairs = [lesion_pair(nm, load_image(by[nm].path), prof, 0) for nm in names]
thr = blob_thresholds(pairs[0].truth.shape)
b = [created_blobs(ens(q.site), q.truth, thr) for q in pairs]
kept = kept_by_radius(pairs, ens)
print("site_severe lesions: blobs", round(float(np.mean(b)), 1), " ".join(f"{np.mean(v):.2f}({np.percentile(v,10):.2f})" for v in kept.values()))
