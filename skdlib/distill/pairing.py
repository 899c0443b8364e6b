"""Whether a method can distil a teacher into a student, decided from the architecture
registry alone (no model is built, no torch is imported): the Table-1 runner asks every
method's :attr:`~skdlib.distill.methods.Method.check` for every pair before any training, and
the trainer asks it again.

Each check returns ``None`` when the pair fits, or the reason it does not, in words that name
both architectures and what differs.

Example:
    >>> same_feature_count("resnet56", "resnet20") is None
    True
    >>> print(same_feature_count("vgg13", "resnet20"))  # doctest: +ELLIPSIS
    it pairs feature stages by position, but vgg13 has 4 (block1, ...) and resnet20 has 3 (...)
"""

from __future__ import annotations

from ..models.registry import get_architecture

__all__ = ["same_stages", "same_feature_count", "fsp_channels"]


def _stages(names, widths) -> str:
    return "[" + ", ".join(f"{n}: {w}" for n, w in zip(names, widths, strict=True)) + "]"


def same_stages(teacher: str, student: str) -> str | None:
    """SKD pairs the student's stages with the teacher's semantic vectors by name: the names
    and widths must agree.

    Example:
        >>> same_stages("resnet56", "resnet20") is None
        True
    """
    t, s = get_architecture(teacher), get_architecture(student)
    if (t.stages, t.widths) == (s.stages, s.widths):
        return None
    return (
        f"it pairs the student's stages with the teacher's by name and needs equal widths, but "
        f"{teacher} has {_stages(t.stages, t.widths)} and {student} "
        f"{_stages(s.stages, s.widths)}"
    )


def same_feature_count(teacher: str, student: str) -> str | None:
    """Methods that compare the feature stages pair by position (AT, NST, VID, AB): both need
    as many.

    Example:
        >>> same_feature_count("wrn_40_2", "wrn_16_2") is None
        True
    """
    t, s = get_architecture(teacher), get_architecture(student)
    if len(t.feature_stages) == len(s.feature_stages):
        return None
    return (
        f"it pairs feature stages by position, but {teacher} has {len(t.feature_stages)} "
        f"({', '.join(t.feature_stages)}) and {student} has {len(s.feature_stages)} "
        f"({', '.join(s.feature_stages)})"
    )


def fsp_channels(teacher: str, student: str) -> str | None:
    """FSP compares the Gram matrices between consecutive maps of CRD's ``feat[:-1]`` (the
    stem, then the feature stages): both lists need the same length and, map by map, the same
    channels (RepDistiller raises "num of channels not equal"; the spatial sizes may differ).

    Example:
        >>> print(fsp_channels("resnet32x4", "resnet20"))  # doctest: +ELLIPSIS
        FSP ... but resnet32x4 has [relu: 32, layer1: 64, ...] and resnet20 [relu: 16, ...]
    """
    t, s = get_architecture(teacher), get_architecture(student)
    for arch in (t, s):
        if arch.stem is None:
            return f"FSP needs the stem (CRD's feat[0]), and {arch.name} declares none"

    def maps(a):
        widths = dict(zip(a.stages, a.widths, strict=True))
        names = (a.stem, *a.feature_stages)
        return names, (a.stem_width, *(widths[n] for n in a.feature_stages))

    (tn, tw), (sn, sw) = maps(t), maps(s)
    if tw == sw:
        return None
    return (
        f"FSP compares Gram matrices map by map and needs equal channels, but {teacher} has "
        f"{_stages(tn, tw)} and {student} {_stages(sn, sw)}"
    )
