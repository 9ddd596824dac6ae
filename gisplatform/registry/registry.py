"""The immutable collection of layer specs that everything else is derived from."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gisplatform.errors import LayerNotFound, LayerSpecError
from gisplatform.registry.spec import Access, LayerSpec


class LayerRegistry:
    """An immutable, ordered set of layers keyed by name."""

    __slots__ = ("_layers",)

    def __init__(self, specs: Iterable[LayerSpec] = ()) -> None:
        layers: dict[str, LayerSpec] = {}
        for spec in specs:
            if spec.name in layers:
                raise LayerSpecError([(spec.name, "name", "layer name is defined twice")])
            layers[spec.name] = spec
        self._layers = layers

    def get(self, name: str, audience: Access = Access.RESTRICTED) -> LayerSpec:
        """The layer called ``name``; not found also when ``audience`` may not see it."""
        spec = self._layers.get(name)
        if spec is None or not spec.visible_to(audience):
            raise LayerNotFound(name)
        return spec

    def list(self, audience: Access = Access.RESTRICTED) -> list[LayerSpec]:
        """The layers ``audience`` may see, in definition order."""
        return [spec for spec in self._layers.values() if spec.visible_to(audience)]

    def register(self, specs: Iterable[LayerSpec], overwrite: bool = False) -> LayerRegistry:
        """A new registry with ``specs`` added (replacing same-named ones if ``overwrite``)."""
        layers = dict(self._layers)
        for spec in specs:
            if spec.name in layers and not overwrite:
                raise LayerSpecError([(spec.name, "name", "layer already registered")])
            layers[spec.name] = spec
        return LayerRegistry(layers.values())

    def __contains__(self, name: object) -> bool:
        return name in self._layers

    def __iter__(self) -> Iterator[LayerSpec]:
        return iter(self._layers.values())

    def __len__(self) -> int:
        return len(self._layers)
