"""Synthetic dermoscopy images: the embedded default data set, with exact ground truth.

Every image is skin (tone, low-frequency texture, vignetting) with one lesion whose colour,
texture, border and size follow its class, plus optional hairs and a black lens frame. Because
the generator draws them, the lesion, hair and frame masks are exact, and the hair-free image is
known, which makes the data set a test bed for segmentation, classification *and* hair removal.

:func:`write_synthetic_dataset` writes the HAM10000 distribution layout (so the HAM10000 reader
loads it unchanged), with several views of some lesions so that lesion-grouped splitting matters
and metadata (age, sex, site) that correlates with the class the way the real data roughly does.
As in real dermoscopy, some lesions look like another class (a nevus drawn like a melanoma, a
keratosis like a carcinoma, ...: ``lookalike``), so the image alone cannot name every lesion and
the patient metadata (drawn from the true class) carries information the pixels lack.

Everything is drawn from ``numpy.random.Generator`` streams derived from one seed per lesion and
per view, so the files are byte-identical for the same arguments whatever the worker count.
Textures are drawn at low resolution and upsampled with OpenCV, so generation is fast (well over
50 images/s at 256x256 on one core, JPEG writing included; see ``benchmarks/bench_synthetic.py``).

Modules, in the order data flows through them:

* ``classes``: how each class looks and who has it (styles), look-alikes, the argument error;
* ``texture``: smooth noise, blends, curves, networks and dots the painters draw with;
* ``paint``: one painter per class (lesion colour and opacity from a distance field);
* ``metadata``: patient age, sex and site per class, and their likelihood;
* ``scene``: lesion geometry, skin, rendering, re-photographing, vignette/frame, hairs, one view;
* ``plan``: the whole data set drawn before any pixel (classes, lesions, look-alikes, metadata);
* ``limits``: :func:`bayes_limits`, the balanced accuracy no model can beat on average;
* ``write``: :func:`write_synthetic_dataset`, the files on disk.
"""

from dermkit.data.synthetic.classes import DEFAULT_LOOKALIKE, LOOKALIKES, SyntheticArgumentError
from dermkit.data.synthetic.limits import bayes_limits
from dermkit.data.synthetic.plan import BALANCES, HAM10000_COUNTS, class_image_counts
from dermkit.data.synthetic.scene import HAIR_DENSITIES, SynthImage, synthesize_image
from dermkit.data.synthetic.write import (
    IMAGE_DIR,
    MASK_DIR,
    METADATA_COLUMNS,
    TRUTH_DIR,
    write_synthetic_dataset,
)

__all__ = [
    "BALANCES",
    "DEFAULT_LOOKALIKE",
    "HAIR_DENSITIES",
    "HAM10000_COUNTS",
    "IMAGE_DIR",
    "LOOKALIKES",
    "MASK_DIR",
    "METADATA_COLUMNS",
    "TRUTH_DIR",
    "SynthImage",
    "SyntheticArgumentError",
    "bayes_limits",
    "class_image_counts",
    "synthesize_image",
    "write_synthetic_dataset",
]
