"""FARM 0.8 converted TensorFlow BERT checkpoints here; TensorFlow support is gone.

``convert_tf_checkpoint_to_pytorch`` stays importable and raises a ``FarmError`` that says
what to do instead.
"""

from farm.compat import removed_function

convert_tf_checkpoint_to_pytorch = removed_function(
    "convert_tf_checkpoint_to_pytorch",
    "TensorFlow checkpoints are not read any more (transformers 5 dropped TensorFlow)",
    "convert the checkpoint once with an older transformers release (BertForPreTraining."
    "from_pretrained(path, from_tf=True).save_pretrained(folder)), then "
    "LanguageModel.load(folder)",
)

__all__ = ["convert_tf_checkpoint_to_pytorch"]
