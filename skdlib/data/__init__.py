"""Offline data, all generated here: one family of synthetic concept images serves every need.

* :mod:`~skdlib.data.concepts` — the vocabulary: 52 concepts (colours, shapes, parts, textures,
  scenes) and the 100 "<colour> <shape>" classes;
* :mod:`~skdlib.data.shapes`, :mod:`~skdlib.data.scenes` — drawing objects and whole labelled
  scenes with numpy;
* :mod:`~skdlib.data.datasets` — :class:`SyntheticConceptImages` (scenes, for training a network
  on concepts) and :class:`SyntheticCIFAR100` (the 32x32 stand-in for CIFAR-100);
* :mod:`~skdlib.data.multisource` — scenes with the real Broden's label statistics (four
  sources annotating their own categories, 1,070 concepts, dozens of objects with part layers);
* :mod:`~skdlib.data.synthetic_broden` — the scenes written as a Broden data set on disk
  (``statistics="simple"`` or ``"broden"``);
* :mod:`~skdlib.data.synthetic_imagefolder` — the scenes as an ImageFolder tree (ImageNet's
  layout) by class of their largest object;
* :mod:`~skdlib.data.planted` — a model whose units are known concept masks (test ground truth);
* :mod:`~skdlib.data.normalise` — pixels to model inputs and back.
"""

import lazy_loader as _lazy

# every public name, imported from its module on first use (scientific-python SPEC 1)
__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "concepts": [
            "CATEGORIES",
            "CLASS_NAMES",
            "COLORS",
            "COLOR_NAMES",
            "CONCEPTS",
            "Concept",
            "IMAGE_CATEGORIES",
            "PARTS",
            "PIXEL_CATEGORIES",
            "SCENES",
            "SHAPES",
            "TEXTURES",
            "class_id",
            "concept_number",
        ],
        "datasets": ["SyntheticCIFAR100", "SyntheticConceptImages"],
        "multisource": ["SOURCES", "VOCABULARY", "render_multisource_scene"],
        "normalise": [
            "IMAGENET_MEAN",
            "IMAGENET_STD",
            "denormalise_uint8",
            "normalise_uint8",
            "to_display",
        ],
        "planted": ["PlantedConceptModel", "planted_concept_model"],
        "scenes": ["ConceptScene", "render_object", "render_scene"],
        "synthetic_broden": ["image_digest", "make_synthetic_broden", "synthetic_broden_scene"],
        "synthetic_imagefolder": ["make_synthetic_imagefolder"],
    },
)
