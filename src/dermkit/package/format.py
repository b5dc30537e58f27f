"""The model package file (``model.dermkit``): what it holds, and reading it back safely (torch-free).

A package is a zip archive of plain data, never code:

    manifest.json        format, versions, every member's sha256 and size, and what each graph needs:
                         preprocessing, normalisation, TTA, threshold, classes, metadata encoding,
                         calibration and decision rule, operating point, model identifiers, model card
    segmenter.onnx       the lesion segmenter (dynamic batch)
    classifier.onnx      the classifier (dynamic batch)
    focus.onnx           the segmenter a segment-then-classify classifier was trained with, when it is
                         not the package's segmenter
    ood.npz              the out-of-distribution detector, when the run has one
    MODEL_CARD.md        intended use, training data, evaluation, limitations (human-readable)

Reading checks the archive before anything runs: a manifest of this format, every listed member
present with its size and sha256 (a changed byte refuses the package), no unlisted member, ONNX
graphs without external data (a graph may not make the runtime read other files). Members are read
into memory and never extracted, so names cannot point outside a folder. The checksums catch
corruption and edits by hand; they are not a signature: publish the package's own sha256 (``dermkit
export`` prints it) beside it for users to compare.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dermkit.errors import DermkitError
from dermkit.pipeline.result import ModelInfo

PACKAGE_FORMAT = "dermkit-model-package"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MODEL_CARD = "MODEL_CARD.md"
SUFFIX = ".dermkit"
#: Largest member the reader accepts (a zip bomb is refused before it is inflated).
MAX_MEMBER_BYTES = 2 << 30


class PackageError(DermkitError):
    """A model package that cannot be used: not a package, another format, or changed since export."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileEntry(_Strict):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0, le=MAX_MEMBER_BYTES)


class GraphSpec(_Strict):
    """One ONNX graph and how its input is made from an image."""

    graph: str = Field(description="the member holding the ONNX graph")
    input_names: list[str]
    output_names: list[str]
    preprocess: dict[str, Any] = Field(description="dermkit.preprocess.PreprocessConfig fields")
    mean: list[float]
    std: list[float]
    tta: bool
    exporter: str = Field(description="torch.onnx exporter used: dynamo or torchscript")
    info: ModelInfo


class SegmenterSpec(GraphSpec):
    threshold: float = Field(gt=0, lt=1)
    postprocess: bool


class MetadataEncoding(_Strict):
    """dermkit.data.metadata.encode_metadata's layout when the package was made."""

    dim: int
    age_scale: float
    sexes: list[str]
    sites: list[str]


class FocusSpec(_Strict):
    """Segment-then-classify: which segmenter finds the lesion, and how the classifier sees it."""

    segmenter: Literal["segmenter", "focus"]
    mode: Literal["mask", "crop"]
    margin: float


class ClassifierSpec(GraphSpec):
    classes: list[str]
    uses_metadata: bool
    metadata: MetadataEncoding
    calibration: dict[str, Any] = Field(description="dermkit.calibration.Calibration.to_json()")
    focus: FocusSpec | None
    attention: bool = Field(description="the graph's attention output is the model's own map")
    ood: str | None = Field(default=None, description="member holding the out-of-distribution detector")


class ModelCard(_Strict):
    intended_use: str
    training_data: str
    evaluation: dict[str, dict[str, float]] = Field(description="model -> validated metrics")
    limitations: list[str]


class Manifest(_Strict):
    format: Literal["dermkit-model-package"] = PACKAGE_FORMAT
    format_version: Literal[1] = FORMAT_VERSION
    created: str
    dermkit_version: str
    files: dict[str, FileEntry]
    segmenter: SegmenterSpec
    classifier: ClassifierSpec
    focus_segmenter: SegmenterSpec | None = None
    model_card: ModelCard


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_entry(data: bytes) -> FileEntry:
    return FileEntry(sha256=sha256_bytes(data), bytes=len(data))


def write_package(path: Path, manifest: Manifest, members: dict[str, bytes]) -> None:
    """Write the archive (manifest first) to ``path`` via a temporary file renamed into place."""
    missing = set(manifest.files) ^ set(members)
    if missing:
        raise PackageError(f"{path}: manifest and members differ in {sorted(missing)} (a dermkit bug)")
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, manifest.model_dump_json(indent=2))
        for name, data in members.items():
            zf.writestr(name, data)
    tmp.replace(path)


def _refuse(path: Path, reason: str) -> PackageError:
    return PackageError(
        f"{path}: {reason}; this file cannot be used as a model package. Use the file `dermkit export` wrote "
        "(compare its sha256 with the one published beside it), or export the runs again"
    )


def read_package(path: str | Path) -> tuple[Manifest, dict[str, bytes]]:
    """The manifest and every member's bytes, after checking sizes and checksums.

    Raises:
        PackageError: not a zip archive, no or an invalid manifest, another format version, a member
            missing, unlisted, too large or changed (checksum mismatch), or a graph with external data.
    """
    path = Path(path)
    if not path.is_file():
        raise PackageError(f"{path}: no such model package; write one with `dermkit export --seg RUN --cls RUN`")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(path, f"not a dermkit model package (not a zip archive: {exc})") from None
    with zf:
        infos = {info.filename: info for info in zf.infolist()}
        if MANIFEST not in infos:
            raise _refuse(path, f"no {MANIFEST} in the archive")
        if infos[MANIFEST].file_size > 16 << 20:
            raise _refuse(path, f"{MANIFEST} is implausibly large")
        try:
            raw = json.loads(zf.read(MANIFEST))
        except (ValueError, zipfile.BadZipFile) as exc:
            raise _refuse(path, f"{MANIFEST} is not JSON ({exc})") from None
        if (
            isinstance(raw, dict)
            and raw.get("format") == PACKAGE_FORMAT
            and raw.get("format_version") != FORMAT_VERSION
        ):
            raise PackageError(
                f"{path}: package format version {raw.get('format_version')!r}, this dermkit reads version "
                f"{FORMAT_VERSION}; use the dermkit version that wrote it ({raw.get('dermkit_version', 'unknown')})"
            )
        try:
            manifest = Manifest.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise _refuse(path, f"{MANIFEST} is not a valid manifest ({where}: {first['msg']})") from None
        unlisted = sorted(set(infos) - set(manifest.files) - {MANIFEST})
        if unlisted:
            raise _refuse(path, f"members not listed in the manifest: {unlisted}")
        members: dict[str, bytes] = {}
        for name, entry in manifest.files.items():
            info = infos.get(name)
            if info is None:
                raise _refuse(path, f"member {name} is missing")
            if info.file_size != entry.bytes:
                raise _refuse(path, f"member {name} is {info.file_size} bytes, the manifest says {entry.bytes}")
            try:
                data = zf.read(name)
            except (zipfile.BadZipFile, OSError) as exc:  # a damaged archive: zip's own CRC check fails
                raise _refuse(path, f"member {name} cannot be read ({exc})") from None
            if sha256_bytes(data) != entry.sha256:
                raise _refuse(path, f"checksum mismatch for {name} (it changed after export)")
            members[name] = data
    for spec in graph_specs(manifest):
        check_no_external_data(path, spec.graph, members[spec.graph])
    return manifest, members


def graph_specs(manifest: Manifest) -> list[GraphSpec]:
    """Every graph the package runs."""
    specs: list[GraphSpec] = [manifest.segmenter, manifest.classifier]
    return specs + ([manifest.focus_segmenter] if manifest.focus_segmenter is not None else [])


def _tensors(graph: Any) -> Any:
    """Every tensor of an ONNX graph: initializers and tensor attributes, subgraphs included."""
    import onnx

    yield from graph.initializer
    yield from (sparse.values for sparse in graph.sparse_initializer)
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                yield attr.t
            yield from attr.tensors
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _tensors(attr.g)
            for sub in attr.graphs:
                yield from _tensors(sub)


def check_no_external_data(path: Path, name: str, data: bytes) -> None:
    """Refuse a graph whose weights live in other files (the runtime would read them from disk)."""
    import onnx

    try:
        model = onnx.load_from_string(data)  # bytes only: external data is never read here
    except Exception as exc:  # onnx raises protobuf's DecodeError and others
        raise _refuse(path, f"{name} is not an ONNX graph ({type(exc).__name__})") from None
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in _tensors(model.graph)):
        raise _refuse(path, f"{name} refers to external data files")
