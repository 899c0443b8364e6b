"""Neuron embedding (paper Eq. 1): a K-dim semantic vector for every channel of chosen layers.

The network is frozen; for each chosen layer ``L`` with ``C_L`` channels a matrix ``S^L`` of
shape ``(C_L, K)`` is trained so that the cosine-similarity structure of the vectors matches that
of the neurons' activation maps (:mod:`skdlib.losses`). Neurons that fire on the same image
regions end up with similar vectors, like words that appear in the same contexts.

* :class:`EmbeddingConfig` — the settings (paper defaults), JSON-loadable;
* :class:`SemanticVectors` — the trainable ``(C_l, K)`` matrices;
* :class:`EmbeddingTrainer` — ``fit`` (the paper's mini-batch procedure, resumable) and
  ``fit_dataset_mean`` (the same objective fitted exactly); :class:`Callback` hooks into both,
  :class:`VectorSnapshots` keeps the vectors as they train;
* :class:`NeuronEmbedding` — the saved artifact, with the queries of Fig. 2 and Fig. 3.

Example:
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
    >>> trainer = EmbeddingTrainer(net, ["1"], EmbeddingConfig(dim=4, epochs=2), device="cpu")
    >>> emb = trainer.fit_dataset_mean([torch.rand(4, 3, 8, 8)], steps=10, progress=False)
    >>> emb.vectors["1"].shape, len(emb.nearest("1", 0, k=3))
    (torch.Size([8, 4]), 3)
"""

import lazy_loader as _lazy

# every public name, imported from its module on first use (scientific-python SPEC 1)
__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "artifact": ["NeuronEmbedding"],
        "callbacks": ["Callback", "VectorSnapshots"],
        "config": ["EmbeddingConfig"],
        "trainer": ["EmbeddingTrainer"],
        "vectors": ["SemanticVectors"],
    },
)
