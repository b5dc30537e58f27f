"""``GET /api/v1/model``: what is being served, from either back end.

A model package's manifest already holds the classes, input sizes, model card, versions and
checksums; for two PyTorch runs the same facts come from the loaded runs (the card is built with
the package's own :func:`dermkit.package.card.model_card`, so both read alike).
"""

from __future__ import annotations

from typing import Any

from dermkit import __version__
from dermkit.data.records import SEXES, SITES
from dermkit.package.card import model_card
from dermkit.pipeline.inputs import MAX_AGE, MIN_AGE
from dermkit.pipeline.result import INTENDED_USE
from dermkit.registry import Registry

#: Back end (``analyzer.models.backend``) -> function describing such an analyzer.
DESCRIBERS: Registry = Registry("serving back end")


def _size(preprocess: dict[str, Any]) -> list[int] | None:
    size = preprocess.get("size")
    return None if size is None else [int(v) for v in size]


@DESCRIBERS.register("onnxruntime")
def describe_package(analyzer) -> dict[str, Any]:
    """From a :class:`dermkit.package.PackageAnalyzer`'s manifest."""
    m = analyzer.manifest
    return {
        "source": analyzer.path.name,
        "classes": list(m.classifier.classes),
        "input_sizes": {"segmenter": _size(m.segmenter.preprocess), "classifier": _size(m.classifier.preprocess)},
        "uses_metadata": m.classifier.uses_metadata,
        "model_card": m.model_card.model_dump(),
        "versions": {"package_dermkit": m.dermkit_version, "dermkit": __version__, "format": m.format_version},
        "checksums": {name: entry.sha256 for name, entry in m.files.items()},
        "created": m.created,
    }


@DESCRIBERS.register("torch")
def describe_runs(analyzer) -> dict[str, Any]:
    """From a :class:`dermkit.pipeline.Analyzer`'s two loaded runs."""
    seg, cls = analyzer.seg, analyzer.cls
    models = analyzer.models
    focused = getattr(cls.cfg.data, "focus", None) is not None and cls.cfg.data.focus.run is not None
    return {
        "source": f"{seg.run_dir.name} + {cls.run_dir.name}",
        "classes": list(cls.classes),
        "input_sizes": {
            "segmenter": _size(seg.cfg.data.preprocess.model_dump()),
            "classifier": _size(cls.cfg.data.preprocess.model_dump()),
        },
        "uses_metadata": bool(getattr(cls.model, "use_metadata", False)),
        "model_card": model_card(models.seg, models.cls, focused).model_dump(),
        "versions": {"seg_dermkit": models.seg.version, "cls_dermkit": models.cls.version, "dermkit": __version__},
        "checksums": {"segmenter": models.seg.checksum, "classifier": models.cls.checksum},
        "created": None,
    }


def describe(analyzer) -> dict[str, Any]:
    """Classes, input sizes, validated metrics, model card, versions and checksums of what is served."""
    models = analyzer.models
    facts = DESCRIBERS.get(models.backend)(analyzer)
    return {
        "backend": models.backend,
        **facts,
        "models": {"seg": models.seg.model_dump(), "cls": models.cls.model_dump()},
        "validated_metrics": {"seg": dict(models.seg.validated_metrics), "cls": dict(models.cls.validated_metrics)},
        "intended_use": INTENDED_USE,
        "metadata_fields": {"age": {"min": MIN_AGE, "max": MAX_AGE}, "sex": list(SEXES), "site": list(SITES)},
    }
