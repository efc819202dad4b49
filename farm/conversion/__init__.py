"""Conversion of FARM models: to and from Hugging Face ``transformers`` models, and to ONNX.

``farm.conversion.transformers`` holds ``convert_to_transformers`` and
``convert_from_transformers`` (also reachable as ``AdaptiveModel`` methods);
``farm.conversion.onnx`` holds the ONNX export and the ONNX Runtime model that
``Inferencer.load`` opens. Both import their optional dependencies only when used.
"""
