"""The command line's floor: one module per command (or group), each declaring its arguments.

=================== ========================== ================================================
command              module                     what it does
=================== ========================== ================================================
``notebooks``        :mod:`.notebooks`          run the tutorial notebooks headless, summarise
``embed``            :mod:`.embed`              semantic vectors of a torchvision model (Eq. 1)
``download-broden``  :mod:`.download_broden`    fetch, unpack and verify Broden 224
``dissect``          :mod:`.dissect`            Network Dissection on a Broden folder
``distill``          :mod:`.distill`            one CIFAR run: a teacher or a student
``embed-teacher``    :mod:`.distill`            semantic vectors of a trained CIFAR teacher
``table1``           :mod:`.table1`             a Table-1 job and its table
``imagenet``         :mod:`.imagenet`           ResNet34 -> ResNet18 on an ImageFolder
=================== ========================== ================================================

Each module's ``add_parser(sub)`` registers its command with a help text for every flag and an
example in its epilog, and sets the function that runs it as the parser's ``handler``. Nothing
here imports torch at module level — the work is imported inside the handlers — so ``--help``
and argument errors answer at once; :mod:`skdlib.cli` is the dispatcher.
"""

from . import dissect, distill, download_broden, embed, imagenet, notebooks, table1

__all__ = ["MODULES"]

#: The command modules, in the order ``python -m skdlib --help`` lists them.
MODULES = (notebooks, embed, download_broden, dissect, distill, table1, imagenet)
