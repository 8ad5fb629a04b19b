"""Image recipes: one small module per image, composed by ci.main."""

from collections.abc import Callable

import dagger

# A container helper, applied with Container.with_().
ContainerStep = Callable[[dagger.Container], dagger.Container]
