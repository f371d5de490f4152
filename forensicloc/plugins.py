"""Plugin discovery and the component registries.

Plugins are modules named by entry points of group ``forensicloc``; core's own built-ins
come through the same group (``forensicloc.builtins``). Entry points are loaded one at a
time, so one that fails to import is recorded (``failed_plugins``) while the others
still load; ``check_pending()`` then makes a misspelt hook name fail loudly.

Environment switches (read at first load):

``FORENSICLOC_DISABLE_PLUGIN_AUTOLOAD=1``
    load no entry point except core's built-ins.
``FORENSICLOC_PLUGINS=a,b``
    load only these entry points (by entry-point name) besides core's built-ins;
    an empty value loads none.

Loading is lazy and idempotent: nothing is imported until a registry or the plugin list
is first asked for, and asking again returns the same objects.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from forensicloc import hookspecs
from forensicloc.api import COMPONENT_KINDS, REQUIRED_METHODS, Component
from forensicloc.errors import PluginError, UnknownComponentError

if sys.version_info >= (3, 12):  # pragma: no cover - version dependent
    from importlib.metadata import EntryPoint, entry_points
else:  # importlib-metadata backport: same API, current behaviour on 3.10/3.11
    from importlib_metadata import EntryPoint, entry_points

GROUP = "forensicloc"
BUILTINS = "forensicloc.builtins"
#: kind name -> hook that fills its registry
HOOK_OF_KIND = {
    "extractor": "register_extractors",
    "scorer": "register_scorers",
    "proposer": "register_proposers",
    "dataset": "register_datasets",
}


@dataclass
class PluginInfo:
    """One loaded (or failed) plugin, as ``forensicloc plugins`` shows it."""

    name: str
    distribution: str | None = None
    version: str | None = None
    module: str | None = None
    error: str | None = None
    components: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "components": {k: sorted(v) for k, v in sorted(self.components.items())},
            **({"error": self.error} if self.error else {}),
        }


class Registry:
    """Components of one kind by name, each remembered with the plugin that gave it."""

    def __init__(self, kind: str):
        self.kind = kind
        self.base = COMPONENT_KINDS[kind]
        self._items: dict[str, type[Component]] = {}
        self._owner: dict[str, str] = {}

    def register(self, cls: Any, plugin: str) -> None:
        """Validate and add ``cls``; errors name the plugin."""
        what = f"plugin {plugin!r} registered {getattr(cls, '__name__', cls)!r} as a {self.kind}"
        if not isinstance(cls, type) or not issubclass(cls, self.base):
            raise PluginError(
                f"{what}, but it is not a subclass of forensicloc.api.{self.base.__name__}",
                hint=f"subclass forensicloc.api.{self.base.__name__} (see CONTRIBUTING.md)",
            )
        name = getattr(cls, "name", "")
        if not isinstance(name, str) or not name or name != name.strip() or "," in name:
            raise PluginError(f"{what} without a valid `name` class attribute", hint="set name = 'short-name'")
        missing = [m for m in REQUIRED_METHODS[self.kind] if getattr(cls, m) is getattr(self.base, m)]
        if missing:
            raise PluginError(f"{what}, but it does not implement {', '.join(missing)}()")
        if self.kind == "scorer" and cls.supervision not in ("none", "real-only", "video-level"):
            raise PluginError(f"{what} with supervision={cls.supervision!r}; use none, real-only or video-level")
        if name in self._items and self._items[name] is not cls:
            raise PluginError(
                f"{what} under the name {name!r}, already taken by plugin {self._owner[name]!r}",
                hint="choose another name, or uninstall one of the two plugins",
            )
        self._items[name] = cls
        self._owner[name] = plugin

    def get(self, name: str) -> type[Component]:
        try:
            return self._items[name]
        except KeyError:
            available = ", ".join(sorted(self._items)) or "(none installed)"
            raise UnknownComponentError(
                f"unknown {self.kind} {name!r}; available: {available}",
                hint="`forensicloc plugins` lists installed plugins and those that failed to load",
            ) from None

    def remove(self, name: str) -> None:
        self._items.pop(name, None)
        self._owner.pop(name, None)

    def owner(self, name: str) -> str:
        return self._owner[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, type[Component]]]:
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)


class Plugins:
    """The plugin manager facade: core code never calls ``pm.hook`` with free kwargs."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self._registries: dict[str, Registry] = {}
        self._loaded = False
        self._lock = threading.RLock()

    # -- loading -----------------------------------------------------------------

    def load(self) -> None:
        """Load every entry point of group ``forensicloc`` once (idempotent)."""
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for ep in _selected_entry_points():
                self._load_entry_point(ep)

    def _load_entry_point(self, ep: EntryPoint) -> None:
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            distribution=dist.metadata["Name"] if dist is not None else None,
            version=dist.version if dist is not None else None,
            module=ep.value,
        )
        self.infos[ep.name] = info
        try:
            module = ep.load()
            if self.pm.is_registered(module) or self.pm.has_plugin(ep.name):
                return
            self.pm.register(module, name=ep.name)
        except Exception as exc:  # a broken third-party plugin must not stop the others
            info.error = _describe(exc)
            return
        try:
            self._check_hooks(ep.name)
        except PluginError as exc:
            self.pm.unregister(name=ep.name)
            info.error = exc.message

    def _check_hooks(self, name: str) -> None:
        """A hook implementation with no matching spec is a misspelling: fail loudly."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"plugin {name!r} implements a hook that does not exist: {exc}",
                hint="hook names are register_extractors, register_scorers, register_proposers, "
                "register_datasets, register_commands",
            ) from None

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register a plugin object directly (tests, embedding). Registries built
        before are extended with what it registers."""
        with self._lock:
            self.load()
            registered = self.pm.register(plugin, name=name)
            if registered is None:
                raise PluginError(f"plugin {name!r} is blocked or already registered")
            try:
                self._check_hooks(registered)
            except PluginError:
                self.pm.unregister(name=registered)
                raise
            self.infos[registered] = PluginInfo(
                name=registered, module=getattr(plugin, "__name__", type(plugin).__name__)
            )
            name = registered
            try:
                for kind in list(self._registries):
                    self._fill(kind, only=name, strict=True)
            except PluginError:
                self.unregister(name)
                raise
            return name

    def unregister(self, name: str) -> None:
        """Remove a plugin and everything it registered."""
        with self._lock:
            if self.pm.has_plugin(name):
                self.pm.unregister(name=name)
            self.infos.pop(name, None)
            for registry in self._registries.values():
                for component in [n for n, _ in registry.items() if registry.owner(n) == name]:
                    registry.remove(component)

    # -- registries --------------------------------------------------------------

    def registry(self, kind: str) -> Registry:
        with self._lock:
            self.load()
            if kind not in self._registries:
                self._registries[kind] = Registry(kind)
                self._fill(kind)
            return self._registries[kind]

    def _fill(self, kind: str, only: str | None = None, strict: bool = False) -> None:
        """Call each plugin's hook for ``kind``. A plugin whose registration is invalid
        (duplicate name, wrong base class) is marked failed and its components of this
        kind are dropped, so one bad plugin cannot take the others down; with
        ``strict`` the error is raised instead."""
        registry = self._registries[kind]
        hook = getattr(self.pm.hook, HOOK_OF_KIND[kind])
        for impl in hook.get_hookimpls():  # registration order
            if only is not None and impl.plugin_name != only:
                continue
            info = self.infos.setdefault(impl.plugin_name, PluginInfo(name=impl.plugin_name))
            added: list[str] = []

            def register(cls: Any, _plugin: str = impl.plugin_name, _added: list[str] = added) -> None:
                registry.register(cls, _plugin)
                if cls.name not in _added:
                    _added.append(cls.name)

            try:
                impl.function(register=register)
            except Exception as exc:
                for name in added:
                    registry.remove(name)
                error = exc if isinstance(exc, PluginError) else PluginError(
                    f"plugin {impl.plugin_name!r} failed in {HOOK_OF_KIND[kind]}: {_describe(exc)}"
                )
                if strict:
                    raise error from None
                info.error = error.message
                continue
            if added:
                names = info.components.setdefault(kind, [])
                names.extend(n for n in added if n not in names)

    def add_commands(self, cli: Any) -> None:
        """Let every plugin add its click commands; a taken command name is an error."""
        self.load()
        for impl in self.pm.hook.register_commands.get_hookimpls():
            before = dict(cli.commands)
            guard = _GuardedGroup(cli, impl.plugin_name, before)
            try:
                impl.function(cli=guard)
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(f"plugin {impl.plugin_name!r} failed in register_commands: {_describe(exc)}") from exc
            info = self.infos.setdefault(impl.plugin_name, PluginInfo(name=impl.plugin_name))
            added = [n for n in cli.commands if n not in before]
            if added:
                info.components.setdefault("command", []).extend(added)

    def load_all(self) -> None:
        """Fill every registry (``forensicloc plugins`` shows everything)."""
        for kind in HOOK_OF_KIND:
            self.registry(kind)

    def failed(self) -> list[PluginInfo]:
        self.load()
        return [i for i in self.infos.values() if i.error]


class _GuardedGroup:
    """Stands in for the click group during ``register_commands``: refuses a taken name."""

    def __init__(self, group: Any, plugin: str, before: dict[str, Any]):
        self._group, self._plugin, self._before = group, plugin, before

    def add_command(self, cmd: Any, name: str | None = None) -> None:
        name = name or cmd.name
        if name in self._group.commands:
            raise PluginError(f"plugin {self._plugin!r} added command {name!r}, which is already taken")
        self._group.add_command(cmd, name)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
        import click

        def decorator(f: Callable[..., Any]) -> Any:
            cmd = click.command(*args, **kwargs)(f)
            self.add_command(cmd)
            return cmd

        return decorator

    def __getattr__(self, item: str) -> Any:
        return getattr(self._group, item)


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" ({last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _selected_entry_points() -> Iterable[EntryPoint]:
    eps = sorted(entry_points(group=GROUP), key=lambda e: (e.value != BUILTINS, e.name))
    seen: set[str] = set()
    disabled = os.environ.get("FORENSICLOC_DISABLE_PLUGIN_AUTOLOAD", "").lower() in ("1", "true", "yes")
    wanted = os.environ.get("FORENSICLOC_PLUGINS")
    names = None if wanted is None else {n.strip() for n in wanted.split(",") if n.strip()}
    for ep in eps:
        if ep.name in seen:  # the same distribution visible twice on sys.path
            continue
        seen.add(ep.name)
        builtin = ep.value == BUILTINS
        if not builtin and (disabled or (names is not None and ep.name not in names)):
            continue
        yield ep


_plugins: Plugins | None = None
_plugins_lock = threading.Lock()


def get_plugins() -> Plugins:
    """The process-wide plugin manager (created on first use)."""
    global _plugins
    with _plugins_lock:
        if _plugins is None:
            _plugins = Plugins()
        return _plugins


def reset_plugins() -> None:
    """Forget every loaded plugin; the next use loads entry points again."""
    global _plugins
    with _plugins_lock:
        _plugins = None


def registry(kind: str) -> Registry:
    """The registry of ``kind`` (``extractor``, ``scorer``, ``proposer``, ``dataset``)."""
    return get_plugins().registry(kind)


def get_component(kind: str, name: str) -> type[Component]:
    """The class registered as ``name``; unknown names list what is available."""
    return registry(kind).get(name)


def create(kind: str, name: str, options: dict[str, Any] | None = None) -> Any:
    """Instantiate component ``name`` with ``options``; bad options are user errors."""
    cls = get_component(kind, name)
    try:
        return cls(**(options or {}))
    except TypeError as exc:
        raise UnknownComponentError(f"bad options for {kind} {name!r}: {exc}") from None


def import_builtin(path: str) -> Any:
    """Import ``module:attr`` lazily (used by built-in registration)."""
    module, _, attr = path.partition(":")
    obj = importlib.import_module(module)
    return getattr(obj, attr) if attr else obj
