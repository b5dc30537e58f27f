"""The model card a package carries: intended use, training data, evaluation, limitations (torch-free)."""

from __future__ import annotations

from dermkit.package.format import ModelCard
from dermkit.pipeline.result import INTENDED_USE, ModelInfo


def training_data_line(role: str, info: ModelInfo) -> str:
    data = info.training_data
    images = "an unknown number of" if data.images is None else str(data.images)
    return f"{role} {info.name} (recipe {info.recipe}): {images} training images from {data.dataset}"


def limitations(seg: ModelInfo, cls: ModelInfo, focused: bool) -> list[str]:
    """What a user must know before trusting an answer from these models."""
    items = [
        f"It knows only the classes {', '.join(cls.training_data.classes)}: a lesion of any other kind still "
        "gets one of these labels.",
        "Its figures were measured on held-out lesions of its own data sets (grouped by lesion), not on another "
        "clinic's images: dermatoscope, population and skin type change them. Validate locally before use.",
        "The out-of-distribution and quality flags are screening aids; an unflagged image can still be unlike "
        "the training data.",
        "The heat map shows what the model weighed, not where the pathology is; it can point at artefacts.",
    ]
    if any(i.training_data.dataset.startswith("synthetic") for i in (seg, cls)):
        items.insert(0, "Trained on SYNTHETIC images: a demonstration of the toolkit, not for any clinical use.")
    if focused:
        items.append("The classifier sees only the lesion the segmenter finds: a failed segmentation misleads it.")
    return items


def model_card(seg: ModelInfo, cls: ModelInfo, focused: bool) -> ModelCard:
    return ModelCard(
        intended_use=INTENDED_USE,
        training_data="; ".join([training_data_line("segmenter", seg), training_data_line("classifier", cls)]),
        evaluation={"segmenter": dict(seg.validated_metrics), "classifier": dict(cls.validated_metrics)},
        limitations=limitations(seg, cls, focused),
    )


def _metrics_table(metrics: dict[str, float]) -> list[str]:
    if not metrics:
        return ["(no validated figures: the run did not finish)"]
    return ["| figure | value |", "|---|---|", *(f"| {k} | {v:.4g} |" for k, v in sorted(metrics.items()))]


def model_card_text(card: ModelCard, seg: ModelInfo, cls: ModelInfo) -> str:
    """``MODEL_CARD.md``: the card for people."""
    lines = [
        "# Model card",
        "",
        "## Intended use",
        "",
        card.intended_use,
        "",
        "## Models",
        "",
        *(
            f"- {role}: `{i.name}`, recipe `{i.recipe}`, trained with dermkit {i.version}, checkpoint sha256 "
            f"`{i.checksum}`"
            for role, i in (("segmenter", seg), ("classifier", cls))
        ),
        "",
        "## Training data",
        "",
        card.training_data,
        "",
        "## Evaluation",
        "",
    ]
    for role, metrics in card.evaluation.items():
        lines += [f"### {role}", "", *_metrics_table(metrics), ""]
    lines += ["## Limitations", "", *(f"- {item}" for item in card.limitations), ""]
    return "\n".join(lines)
