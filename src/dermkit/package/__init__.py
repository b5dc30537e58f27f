"""The portable model package: ``dermkit export`` writes it, :class:`PackageAnalyzer` runs it on ONNX
Runtime without PyTorch (``dermkit predict --model``, the web app).

Layout and checks: :mod:`dermkit.package.format`. Only :func:`export_package` needs torch; it is
imported on first use, so ``import dermkit.package`` works on a machine without PyTorch.
"""

from typing import TYPE_CHECKING, Any

from dermkit.package.format import SUFFIX, Manifest, PackageError, read_package
from dermkit.package.runtime import PackageAnalyzer

if TYPE_CHECKING:
    from dermkit.package.export import export_package

__all__ = ["SUFFIX", "Manifest", "PackageAnalyzer", "PackageError", "export_package", "read_package"]


def __getattr__(name: str) -> Any:
    """``export_package`` needs torch: import it only when asked for (PEP 562)."""
    if name == "export_package":
        from dermkit.package.export import export_package

        return export_package
    raise AttributeError(f"module 'dermkit.package' has no attribute {name!r}")
