"""Published JSON Schemas of dermkit's outputs (``analysis-v1.json``: :class:`dermkit.pipeline.AnalysisResult`)."""
