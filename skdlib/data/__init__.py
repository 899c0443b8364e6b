"""Offline data, all generated here: one family of synthetic concept images serves every need.

* :mod:`~skdlib.data.concepts` — the vocabulary: 52 concepts (colours, shapes, parts, textures,
  scenes) and the 100 "<colour> <shape>" classes;
* :mod:`~skdlib.data.shapes`, :mod:`~skdlib.data.scenes` — drawing objects and whole labelled
  scenes with numpy;
* :mod:`~skdlib.data.datasets` — :class:`SyntheticConceptImages` (scenes, for training a network
  on concepts) and :class:`SyntheticCIFAR100` (the 32x32 stand-in for CIFAR-100);
* :mod:`~skdlib.data.synthetic_broden` — the scenes written as a Broden data set on disk;
* :mod:`~skdlib.data.synthetic_imagefolder` — the scenes as an ImageFolder tree (ImageNet's
  layout) by class of their largest object;
* :mod:`~skdlib.data.planted` — a model whose units are known concept masks (test ground truth);
* :mod:`~skdlib.data.normalise` — pixels to model inputs and back.
"""

from .concepts import (
    CATEGORIES,
    CLASS_NAMES,
    COLOR_NAMES,
    COLORS,
    CONCEPTS,
    IMAGE_CATEGORIES,
    PARTS,
    PIXEL_CATEGORIES,
    SCENES,
    SHAPES,
    TEXTURES,
    Concept,
    class_id,
    concept_number,
)
from .datasets import SyntheticCIFAR100, SyntheticConceptImages
from .normalise import IMAGENET_MEAN, IMAGENET_STD, denormalise_uint8, normalise_uint8, to_display
from .planted import PlantedConceptModel, planted_concept_model
from .scenes import ConceptScene, render_object, render_scene
from .synthetic_broden import image_digest, make_synthetic_broden, synthetic_broden_scene
from .synthetic_imagefolder import make_synthetic_imagefolder

__all__ = [
    "CATEGORIES",
    "CLASS_NAMES",
    "COLOR_NAMES",
    "COLORS",
    "CONCEPTS",
    "IMAGE_CATEGORIES",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PARTS",
    "PIXEL_CATEGORIES",
    "SCENES",
    "SHAPES",
    "TEXTURES",
    "Concept",
    "ConceptScene",
    "PlantedConceptModel",
    "SyntheticCIFAR100",
    "SyntheticConceptImages",
    "class_id",
    "concept_number",
    "denormalise_uint8",
    "image_digest",
    "make_synthetic_broden",
    "make_synthetic_imagefolder",
    "normalise_uint8",
    "planted_concept_model",
    "render_object",
    "render_scene",
    "synthetic_broden_scene",
    "to_display",
]
