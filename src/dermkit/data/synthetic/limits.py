"""What no model can beat on synthetic data: the Bayes-optimal balanced accuracy.

The generator knows how each lesion was drawn, so the best possible classifier from the image,
from the metadata, or from both can be computed from the plan alone (no image is drawn). It puts
a trained model's synthetic scores in scale (README: about 0.65, 0.72 and 0.38).
"""

from __future__ import annotations

import numpy as np

from dermkit.data.records import HAM10000_CLASSES
from dermkit.data.synthetic.classes import DEFAULT_LOOKALIKE, LOOKALIKES
from dermkit.data.synthetic.metadata import log_metadata_likelihood
from dermkit.data.synthetic.plan import plan_lesions


def bayes_limits(lookalike: float = DEFAULT_LOOKALIKE, n: int = 14000, seed: int = 0) -> dict[str, float]:
    """Balanced accuracy of the (approximately) Bayes-optimal classifier on balanced synthetic data.

    The classifier knows the generator: from the image it sees only which class's style drew the
    lesion ("image"), optionally also the patient metadata ("image+metadata"), or only the
    metadata ("metadata"). No trained model can beat these figures on average, so they put a
    model's synthetic scores in scale. Computed on the plan of ``n`` lesions (no image is drawn).
    """
    k = len(HAM10000_CLASSES)
    confusion = np.zeros((k, k))  # P(appearance | label)
    for i, c in enumerate(HAM10000_CLASSES):
        confusion[i, i] = 1.0 - lookalike
        for other in LOOKALIKES[c]:
            confusion[i, HAM10000_CLASSES.index(other)] += lookalike / len(LOOKALIKES[c])
    plan = plan_lesions(n, seed, "balanced", 1.0, lookalike)
    y = np.array([HAM10000_CLASSES.index(p.label) for p in plan])
    log_image = np.log(confusion[:, [HAM10000_CLASSES.index(p.appearance) for p in plan]].T + 1e-12)
    log_meta = np.array([[log_metadata_likelihood(c, p.age, p.sex, p.site) for c in HAM10000_CLASSES] for p in plan])

    def bma(scores: np.ndarray) -> float:
        pred = scores.argmax(1)
        return float(np.mean([np.mean(pred[y == i] == i) for i in range(k)]))

    return {"image": bma(log_image), "image+metadata": bma(log_image + log_meta), "metadata": bma(log_meta)}
