"""FARM: Framework for Adapting Representation Models.

Fine-tune pretrained transformer encoders for downstream NLP tasks, evaluate them and serve
the results. The public entry points live in their FARM import paths, e.g.
``farm.modeling.tokenization.Tokenizer`` or ``farm.infer.Inferencer``; importing ``farm``
itself has no side effects.
"""

__version__ = "0.1.0"
