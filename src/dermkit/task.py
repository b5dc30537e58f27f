"""The two tasks dermkit trains and applies: one definition for recipes, registries and exports."""

from __future__ import annotations

from typing import Literal, get_args

#: ``"segmentation"``: a binary lesion mask per image; ``"classification"``: a diagnosis per image.
Task = Literal["segmentation", "classification"]
TASKS: tuple[str, ...] = get_args(Task)
