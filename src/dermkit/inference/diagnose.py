"""One image's diagnosis by a classification run: calibrated probabilities, the decision, attention."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from dermkit.calibration import IDENTITY
from dermkit.data.metadata import encode_metadata
from dermkit.data.records import Metadata
from dermkit.inference.focus import Box, run_focus
from dermkit.inference.runs import LoadedRun
from dermkit.models.contract import classify
from dermkit.models.features import classification_layer
from dermkit.models.outputs import ClassificationOutput
from dermkit.models.tta import tta_class_logits
from dermkit.preprocess.pipeline import preprocess, restore_mask


@dataclass(frozen=True)
class Diagnosis:
    """One image's classification.

    Attributes:
        classes: class names.
        probabilities: (C,) calibrated when the run has a calibration (and ``calibrated``).
        predicted: the class the run's decision rule picks.
        confidence: the calibrated probability of ``predicted``.
        decision: the rule that picked it ("prior", "thresholds" or "argmax").
        attention: (H, W) in [0, 1] at the image's size for models with an attention map, else None.
        focus_box: (y0, y1, x0, x1) the classifier looked at (segment-then-classify runs), else the whole image.
        features: (D,) the input of the classification layer on the untransformed view (what the
            run's out-of-distribution detector scores), or None for a model without such a layer.
    """

    classes: list[str]
    probabilities: np.ndarray
    predicted: str
    confidence: float
    decision: str
    attention: np.ndarray | None
    focus_box: Box
    features: np.ndarray | None = None


def forward_with_features(model, x, m) -> tuple[ClassificationOutput, np.ndarray | None]:
    """One forward pass: the model's output and the input of its classification layer (features)."""
    try:
        layer = classification_layer(model)
    except TypeError:  # a classifier without a plain classification layer: no features, no OOD score
        return classify(model, x, m), None
    captured: list[torch.Tensor] = []
    handle = layer.register_forward_pre_hook(lambda _module, args: captured.append(args[0]))
    try:
        out = classify(model, x, m)
    finally:
        handle.remove()
    return out, captured[0].reshape(captured[0].shape[0], -1)[0].float().cpu().numpy()


@torch.no_grad()
def diagnose(
    run: LoadedRun, image: np.ndarray, meta: Metadata | None = None, tta: bool | None = None, calibrated: bool = True
) -> Diagnosis:
    """Classify one (H, W, 3) uint8 image as training and ``evaluate cls`` do: the run's lesion
    focus (``data.focus``), preprocessing, test-time augmentation and calibration.

    Without ``meta`` the network sees "unknown" age, sex and site, and a calibration's metadata
    expert is left out (in the training data "unknown" is a recording artefact, not evidence).
    """
    tta = run.tta(tta)
    h, w = image.shape[:2]
    focus = run_focus(run)
    focused, box = (focus.region(image)[:2]) if focus is not None else (image, (0, h, 0, w))
    pre = preprocess(focused, run.cfg.data.preprocess)
    x = run.to_tensor(pre.image)
    m = torch.from_numpy(encode_metadata(meta or Metadata(image_id="image", lesion_id="image")))[None].to(run.device)
    logits = tta_class_logits(run.model, x, m, tta, run.autocast_dtype).cpu()
    cal = run.calibration(tta) if calibrated else IDENTITY
    if meta is None:  # no age, sex or site: the metadata expert has nothing to say about this lesion
        cal = cal.without_metadata()
    proba = cal.proba(logits, m.cpu().numpy())[0]
    pred = int(cal.decide(proba[None])[0])
    attention = None
    out, features = forward_with_features(run.model, x, m)
    if out.attention is not None:
        att = out.attention[0, 0].float().cpu().numpy()
        att = cv2.resize(att, (pre.image.shape[1], pre.image.shape[0]), interpolation=cv2.INTER_LINEAR)
        inner = restore_mask(att.astype(np.float32), pre)
        attention = np.zeros((h, w), np.float32)
        y0, y1, x0, x1 = box
        attention[y0:y1, x0:x1] = inner
    return Diagnosis(
        run.classes,
        proba,
        run.classes[pred],
        float(proba[pred]),
        cal.decision if calibrated else "argmax",
        attention,
        box,
        features,
    )
