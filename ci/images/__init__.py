"""The images: one recipe module per image, composed by the builder (builder.py)."""

from collections.abc import Callable

import dagger

# A container helper, applied with Container.with_().
ContainerStep = Callable[[dagger.Container], dagger.Container]
