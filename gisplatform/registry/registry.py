"""The immutable collection of layer specs that everything else is derived from."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gisplatform.errors import LayerNotFound, LayerSpecError
from gisplatform.registry.hromada import PROFILE_FILE, HromadaProfile
from gisplatform.registry.spec import Access, LayerSpec


class LayerRegistry:
    """An immutable, ordered set of layers keyed by name, and the hromada they describe."""

    __slots__ = ("_hromada", "_layers")

    def __init__(
        self, specs: Iterable[LayerSpec] = (), hromada: HromadaProfile | None = None
    ) -> None:
        layers: dict[str, LayerSpec] = {}
        for spec in specs:
            if spec.name in layers:
                raise LayerSpecError([(spec.name, "name", "layer name is defined twice")])
            layers[spec.name] = spec
        self._layers = layers
        self._hromada = hromada

    @property
    def hromada(self) -> HromadaProfile:
        """The hromada profile; an error naming the missing file when there is none."""
        if self._hromada is None:
            raise LayerSpecError(
                [(PROFILE_FILE, "(file)", "no hromada profile in the layers directory")]
            )
        return self._hromada

    @property
    def has_hromada(self) -> bool:
        """True when a hromada profile was loaded."""
        return self._hromada is not None

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
        return LayerRegistry(layers.values(), self._hromada)

    def __contains__(self, name: object) -> bool:
        return name in self._layers

    def __iter__(self) -> Iterator[LayerSpec]:
        return iter(self._layers.values())

    def __len__(self) -> int:
        return len(self._layers)
