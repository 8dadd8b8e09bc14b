"""aiogram's ~300 Telegram types, each built the first time it is used instead of all at import.

aiogram declares its types with pydantic's `defer_build=True`, then its
`aiogram/types/__init__.py` ends with a loop that calls `model_rebuild()` on
every one of them (to resolve the forward references its modules import only
under TYPE_CHECKING). That loop is most of aiogram's import: measured here 1.9
of 2.3 s and ~100 of 166 MiB, every model holding its own copy of the schemas
of everything it can contain. The runner validates a handful of them (Update,
Message, User, the Response wrappers, the methods it calls).

`install()` puts a finder on `sys.meta_path` that, when `aiogram` is first
imported, runs aiogram's import with that loop made a no-op which records the
names it would have resolved. Afterwards those names are put into every
`aiogram.types.*` module's namespace (exactly what the TYPE_CHECKING imports
would have given), so pydantic resolves them whenever a model builds itself
on first use. The first Update costs ~60 ms once; the import ~0.5 s and 65 MiB.

If aiogram stops calling `model_rebuild` from `aiogram.types`, nothing is
recorded and aiogram behaves as it ships.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

_TYPES_PACKAGE = "aiogram.types"


def install() -> None:
    """Defer aiogram's model builds in this process (no effect once aiogram is imported)."""
    if "aiogram" not in sys.modules and not any(isinstance(f, _AiogramFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AiogramFinder())


def _import_aiogram(load: Callable[[], None], module: ModuleType) -> None:
    with _rebuilds_recorded() as names:
        load()
    for name, package in list(sys.modules.items()):
        if name.startswith(_TYPES_PACKAGE + "."):
            namespace = vars(package)
            for key, value in names.items():
                namespace.setdefault(key, value)


def _import_method_base(load: Callable[[], None], module: ModuleType) -> None:
    # Every API method is a model too (~170, ~2 ms each to build): those build on first use as well.
    load()
    module.TelegramMethod.model_config["defer_build"] = True


class _AiogramFinder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self._hooks: dict[str, Callable[[Callable[[], None], ModuleType], None]] = {
            "aiogram": _import_aiogram,
            "aiogram.methods.base": _import_method_base,
        }

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        hook = self._hooks.pop(fullname, None)
        if hook is None:
            return None
        if not self._hooks:
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _HookedLoader(spec.loader, hook)
        return spec


class _HookedLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, hook: Callable[[Callable[[], None], ModuleType], None]) -> None:
        self._loader = loader
        self._hook = hook

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self._hook(lambda: self._loader.exec_module(module), module)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, …
        return getattr(self._loader, name)


@contextlib.contextmanager
def _rebuilds_recorded() -> Iterator[dict[str, Any]]:
    """While aiogram imports, `model_rebuild(_types_namespace=…)` from aiogram.types records instead of building."""
    from pydantic import BaseModel

    original = BaseModel.__dict__["model_rebuild"]
    names: dict[str, Any] = {}

    def model_rebuild(
        cls: type[BaseModel],
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Any = None,
    ) -> bool | None:
        if _types_namespace is not None and sys._getframe(1).f_globals.get("__name__") == _TYPES_PACKAGE:
            names.update(_types_namespace)
            return None
        depth = _parent_namespace_depth + 1 if _parent_namespace_depth > 0 else 0  # this frame is one more
        result: bool | None = original.__func__(
            cls,
            force=force,
            raise_errors=raise_errors,
            _parent_namespace_depth=depth,
            _types_namespace=_types_namespace,
        )
        return result

    BaseModel.model_rebuild = classmethod(model_rebuild)  # type: ignore[method-assign, assignment]
    try:
        yield names
    finally:
        BaseModel.model_rebuild = original  # type: ignore[method-assign]
