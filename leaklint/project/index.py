"""The project index: every project module's summary (leaklint.project.summary), and the
facts the rules ask about, derived from them with the knowledge tables:

- `made_by(name)`: the resource a call of `name` hands its caller: a library resource
  (the tables), a project factory (a function or method whose every returned value is
  such a call, followed to a fixed point), or a project class whose instances own one
  (stored in `__init__`) and release it in one of their methods;
- `releases(cls, attr)`: whether `cls` or a project base of it, in any module, releases
  its `self.<attr>`;
- `attribute_type(name)`: what `a.b.c = <call>` stored, wherever it was assigned.

Built before any rule runs and read-only afterwards; rules reach it through
`FileContext.project` (a `ModuleView`). Names are absolute dotted names; a module is
found by its own name, or for names written against a namespace package or a layout
the index could not place, by the unique module whose name ends the name's prefix.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from leaklint.knowledge import resources as table
from leaklint.knowledge.specs import ResourceSpec

# a chain of factories longer than this is not followed (it also ends cycles)
_DEPTH = 12
# library creators whose result may own nothing (a wrapper of the caller's file object,
# a detached process): leaklint judges them at the call, so a factory of one is unsure
_UNSURE = frozenset(table.FILEOBJ_PARAMETER) | table.FIRST_ARGUMENT_MAY_BE_BUFFER | frozenset(table.DETACHING_KEYWORDS)
# methods that release an attribute but are no way for a user to release the instance:
# the finalizer, a constructor cleaning up after a failure, entering a context
_NOT_RELEASES = frozenset({"__del__", "__init__", "__post_init__", "__enter__", "__aenter__", "__new__"})


@dataclass(frozen=True)
class Made:
    """What a call of a project callable creates."""

    spec: ResourceSpec
    label: str  # for messages: `make_client()` (returns `httpx.Client()`, made at pkg/client.py:12)
    kind: str  # "library", "factory" or "class"
    resource: str  # the library resource at the bottom: `httpx.Client()`
    where: str  # path:line of the resource's creation


_HANDED = frozenset({"enter_context", "enter_async_context", "push", "push_async_callback", "callback",
                     "closing", "aclosing"})


def _ways(release: Iterable[str]) -> frozenset:
    """What counts as releasing an attribute whose resource is released by `release`."""
    return frozenset(release) | table.GENERIC_RELEASE | _HANDED


def _short(name: str) -> str:
    return name[len("builtins."):] if name.startswith("builtins.") else name


def facts_digest(facts: List[Any]) -> str:
    data = json.dumps(facts, sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


NO_FACTS = facts_digest([])


class ProjectIndex:
    def __init__(self, summaries: Dict[str, Dict[str, Any]], paths: Dict[str, str], knowledge: Any,
                 root: Optional[str] = None) -> None:
        """summaries: module name -> summary; paths: module name -> file (for messages)."""
        self.modules = summaries
        self.paths = paths
        self.knowledge = knowledge
        self.root = root
        self._made: Dict[str, Optional[Made]] = {}
        self._busy: Set[str] = set()
        self._located: Dict[str, Optional[Tuple[str, Tuple[str, ...]]]] = {}
        self._tails: Dict[str, List[str]] = {}
        for name in summaries:
            self._tails.setdefault(name.rsplit(".", 1)[-1], []).append(name)
        self.words = frozenset(part for name in summaries for part in name.split(".") if part)
        self._short_names: Optional[frozenset] = None
        self._mro: Dict[str, List[Tuple[str, str]]] = {}
        self._types: Dict[str, Optional[Tuple[str, str]]] = {}

    # --- where a name is defined ------------------------------------------------------

    def locate(self, name: str, _depth: int = 0) -> Optional[Tuple[str, Tuple[str, ...]]]:
        """(module, path inside it) of the definition `name` stands for, following
        re-exports (`from .client import make` in a package's __init__)."""
        if name in self._located:
            return self._located[name]
        found = self._locate(name, _depth)
        self._located[name] = found
        return found

    def _locate(self, name: str, depth: int) -> Optional[Tuple[str, Tuple[str, ...]]]:
        if depth > _DEPTH:
            return None
        parts = name.split(".")
        if self.words.isdisjoint(parts):
            return None  # no module of the project is named in it (`os.path.join`)
        module, rest = self._module_of(parts)
        if module is None:
            return None
        if not rest:
            return module, ()
        summary = self.modules[module]
        head = rest[0]
        if head in summary["functions"] or head in summary["classes"] or head in summary["objects"]:
            return module, tuple(rest)
        if any(key == head or key.startswith(head + ".") for key in summary["functions"]):
            return module, tuple(rest)
        target = summary["imports"].get(head)
        if target is not None and target != name:
            return self.locate(".".join([target, *rest[1:]]), depth + 1)
        return module, tuple(rest)

    def _module_of(self, parts: List[str]) -> Tuple[Optional[str], List[str]]:
        for cut in range(len(parts), 0, -1):
            candidate = ".".join(parts[:cut])
            if candidate in self.modules:
                return candidate, parts[cut:]
        # a namespace package or an unplaced root: the one module whose name ends the prefix
        for cut in range(len(parts), 0, -1):
            options = [m for m in self._tails.get(parts[cut - 1], ()) if ".".join(parts[:cut]).endswith("." + m)]
            if len(options) == 1:
                return options[0], parts[cut:]
        return None, parts

    # --- what a call makes --------------------------------------------------------------

    def made_by(self, name: str, cls: Optional[str] = None) -> Optional[Made]:
        """The resource a call of `name` returns to its caller; `cls`: the class (absolute
        name) a `self.m` name is called in."""
        if name.startswith("self."):
            if cls is None:
                return None
            return self.method_made(cls, name[len("self."):])
        key = name
        if key in self._made:
            return self._made[key]
        if key in self._busy or len(self._busy) > _DEPTH:
            return None  # a cycle, or too deep: not a fact
        self._busy.add(key)
        try:
            found = self._made_by(name)
        finally:
            self._busy.discard(key)
        self._made[key] = found
        return found

    def _made_by(self, name: str) -> Optional[Made]:
        if name.startswith("."):
            spec = table.METHOD_RESOURCES.get(name[1:])
            return Made(spec, f"{name}()", "library", f"{name}()", "") if spec is not None else None
        specs = self.knowledge.resources.get(name)
        located = self.locate(name) if not specs else None  # the tables first: a library linted as a project
        if located is None:
            if not specs or name in _UNSURE:
                return None
            spec = specs[0]
            if len(specs) > 1:
                release: List[str] = []
                for other in specs:
                    release.extend(m for m in other.release if m not in release)
                spec = ResourceSpec(spec.callable, tuple(release), awaited=any(s.awaited for s in specs),
                                    with_releases=all(s.with_releases for s in specs))
            return Made(spec, f"{_short(name)}()", "library", f"{_short(name)}()", "")
        module, path = located
        summary = self.modules[module]
        if len(path) == 1 and path[0] in summary["classes"]:
            return self._class_made(module, path[0])
        qualname = ".".join(path)
        function = summary["functions"].get(qualname)
        if function is None:
            return None
        cls = f"{module}.{path[0]}" if len(path) == 2 else None
        return self._function_made(module, qualname, function, cls)

    def _function_made(self, module: str, qualname: str, function: Dict[str, Any], cls: Optional[str]) -> Optional[Made]:
        found: List[Made] = []
        lines: List[int] = []
        for ref, line in function["returns"]:
            made = self.made_by(ref, cls)
            if made is None:
                return None
            found.append(made)
            lines.append(line)
        if not found:
            return None
        first = found[0]
        release: List[str] = []
        for made in found:
            release.extend(m for m in made.spec.release if m not in release)
        spec = ResourceSpec(f"{module}.{qualname}", tuple(release), awaited=any(m.spec.awaited for m in found),
                            with_releases=all(m.spec.with_releases for m in found))
        where = first.where or self.where(module, lines[0])
        # a project class's instance is what it returns: `Mempool()`, not the sqlite3 inside
        returned = f"{first.spec.callable.rsplit('.', 1)[-1]}()" if first.kind == "class" else first.resource
        label = f"{qualname.rsplit('.', 1)[-1]}() (returns {returned}, made at {where})"
        return Made(spec, label, "factory", returned, where)

    def method_made(self, cls: str, method: str) -> Optional[Made]:
        """What `self.<method>()` returns in class `cls`, the method found in its MRO."""
        for module, name in self.mro(cls):
            summary = self.modules[module]
            if method in summary["classes"][name]["methods"]:
                function = summary["functions"].get(f"{name}.{method}")
                if function is None:
                    return None
                key = f"{module}.{name}.{method}@{cls}"
                if key in self._made:
                    return self._made[key]
                if key in self._busy:
                    return None
                self._busy.add(key)
                try:
                    found = self._function_made(module, f"{name}.{method}", function, cls)
                finally:
                    self._busy.discard(key)
                self._made[key] = found
                return found
        return None

    def _class_made(self, module: str, name: str) -> Optional[Made]:
        """A project class whose instances own a resource (stored in `__init__`) and
        release it in a method: the class is a resource released by that method."""
        cls = f"{module}.{name}"
        chain = self.mro(cls)
        owned: Dict[str, Made] = {}
        for other_module, other in chain:
            entry = self.modules[other_module]["classes"][other]
            for attr, stores in entry["stores"].items():
                if attr in owned:
                    continue
                for ref, _line in stores:
                    made = self.made_by(ref, cls)
                    if made is not None:
                        owned[attr] = made
                        break
        if not owned:
            return None
        methods: Dict[str, bool] = {}  # release method -> async
        resource: Optional[Made] = None
        released_attr = ""
        for other_module, other in chain:
            entry = self.modules[other_module]["classes"][other]
            for attr, by_method in entry["releases"].items():
                if attr not in owned:
                    continue
                ways = _ways(owned[attr].spec.release)
                if not owned[attr].spec.with_releases:  # `with self._db:` only commits (sqlite3)
                    ways = ways - {"__exit__"}
                for method, hows in by_method.items():
                    if method in _NOT_RELEASES or not ways.intersection(hows):
                        continue
                    methods.setdefault(method, entry["methods"].get(method, False))
                    if resource is None:
                        resource, released_attr = owned[attr], attr
        if not methods or resource is None:
            return None
        # the generic names first (`close` before `run`), then dunders (`__exit__`: `with`)
        ordered = sorted(methods, key=lambda m: (m.startswith("__"), m not in table.GENERIC_RELEASE, m))
        managed = any(m in ("__enter__", "__aenter__") for mod, other in chain
                      for m in self.modules[mod]["classes"][other]["methods"])
        spec = ResourceSpec(cls, tuple(ordered), awaited=methods[ordered[0]], with_releases=managed)
        attr = released_attr
        where = self.where(module, self.modules[module]["classes"][name]["line"])
        label = f"{name}() (owns {resource.resource} in `self.{attr}`, released by {ordered[0]}(); {where})"
        return Made(spec, label, "class", resource.resource, resource.where or where)

    # --- classes ------------------------------------------------------------------------

    def mro(self, cls: str) -> List[Tuple[str, str]]:
        """`cls` and its project bases, depth first, each once: (module, class name)."""
        found = self._mro.get(cls)
        if found is None:
            found = self._mro[cls] = self._compute_mro(cls)
        return found

    def _compute_mro(self, cls: str) -> List[Tuple[str, str]]:
        out: List[Tuple[str, str]] = []
        seen: Set[Tuple[str, str]] = set()
        todo = [cls]
        while todo and len(out) < 64:
            name = todo.pop(0)
            located = self.locate(name)
            if located is None or len(located[1]) != 1:
                continue
            module, (class_name,) = located
            key = (module, class_name)
            entry = self.modules[module]["classes"].get(class_name)
            if entry is None or key in seen:
                continue
            seen.add(key)
            out.append(key)
            todo.extend(entry["bases"])
        return out

    def releases(self, cls: str, attr: str, release: Iterable[str] = ()) -> Optional[str]:
        """Where `cls` or a project base of it releases `self.<attr>` with one of
        `release` or a generic release (`close()`, `with`, an exit stack): `pkg/base.py:
        Base.close`, or None."""
        ways = _ways(release)
        for module, name in self.mro(cls):
            by_method = self.modules[module]["classes"][name]["releases"].get(attr, {})
            for method in sorted(by_method):
                if method not in _NOT_RELEASES and ways.intersection(by_method[method]):
                    return f"{self.display(module)}: {name}.{method}"
        return None

    def _owned_release(self, module: str, name: str, attr: str) -> Tuple[str, ...]:
        for ref, _line in self.modules[module]["classes"][name]["stores"].get(attr, ()):
            made = self.made_by(ref, f"{module}.{name}")
            if made is not None:
                return made.spec.release
        return ()

    # --- attributes set anywhere ------------------------------------------------------

    def attribute_type(self, name: str) -> Optional[Tuple[str, str]]:
        """(what made it, where) for `a.b.c`, assigned `a.b.c = <call>` in some module."""
        if name in self._types:
            return self._types[name]
        found = self._types[name] = self._attribute_type(name)
        return found

    def _attribute_type(self, name: str) -> Optional[Tuple[str, str]]:
        if not self._attr_modules():
            return None
        located = self.locate(name)
        candidates = []
        if located is not None and located[1]:
            candidates.append(".".join([located[0], *located[1]]))
        candidates.append(name)
        for key in candidates:
            module = self._attr_modules().get(key)
            if module is not None:
                ref, line = self.modules[module]["attrs"][key]
                return ref, self.where(module, line)
        return None

    def _attr_modules(self) -> Dict[str, str]:
        found = getattr(self, "_attrs", None)
        if found is None:
            found = {}
            for module, summary in self.modules.items():
                for key in summary["attrs"]:
                    found.setdefault(key, module)
            self._attrs = found
        return found

    @property
    def type_words(self) -> frozenset:
        found = getattr(self, "_type_words", None)
        if found is None:
            words = set()
            for summary in self.modules.values():
                for ref, _line in summary["attrs"].values():
                    words.update(part for part in ref.split(".") if part)
            found = self._type_words = frozenset(words)
        return found

    # --- for the pre-filters -----------------------------------------------------------

    @property
    def short_names(self) -> frozenset:
        """The last names of every project callable that makes a resource: what a call's
        name must be for the index to say it creates one."""
        if self._short_names is None:
            names = set()
            for module, summary in self.modules.items():
                for qualname in summary["functions"]:
                    path = qualname.split(".")
                    if len(path) == 2:
                        made = self.method_made(f"{module}.{path[0]}", path[1])
                    else:
                        made = self.made_by(f"{module}.{qualname}")
                    if made is not None and made.kind != "library":
                        names.add(path[-1])
                for name in summary["classes"]:
                    made = self.made_by(f"{module}.{name}")
                    if made is not None:
                        names.add(name)
            self._short_names = frozenset(names)
        return self._short_names

    def trigger_pattern(self):
        """A regex matching a call of any of `short_names` (the text pre-filter's words)."""
        if not hasattr(self, "_pattern"):
            import re

            from leaklint.analysis.resources import call_triggers
            from leaklint.textsearch import trie_regex

            names = self.short_names
            self._pattern = re.compile(trie_regex(call_triggers(names))) if names else None
        return self._pattern

    # --- what a module's findings depend on --------------------------------------------

    def facts_of(self, module: str) -> List[Any]:
        """The facts a module's findings may use, each only when the index knows it:
        what the names it calls make (a project factory or resource class), what its
        classes' project bases release of the attributes they store and what their
        `self.m()` factories make, and the types of attributes it reads that were set
        elsewhere. The same facts from its own summary alone are what its first pass
        saw; a difference means linting it again with the whole index."""
        summary = self.modules.get(module)
        if summary is None:
            return []
        out: List[Any] = []
        words = self.words
        for name in summary["uses"]:
            if not any(part in words for part in name.split(".")):
                continue
            made = self.made_by(name)
            if made is not None and made.kind != "library":
                out.append(["made", name, made.label, list(made.spec.release), made.spec.awaited,
                            made.spec.with_releases])
            parts = name.split(".")
            for cut in range(len(parts) - 1, 1, -1):
                prefix = ".".join(parts[:cut])
                found_type = self.attribute_type(prefix)
                if found_type is not None:
                    out.append(["type", prefix, *found_type])
                    break
        for cls, entry in summary["classes"].items():
            full = f"{module}.{cls}"
            if not entry["bases"]:
                continue
            chain = self.mro(full)
            for attr in entry["attrs"]:
                for other_module, other in chain:
                    by_method = self.modules[other_module]["classes"][other]["releases"].get(attr)
                    if by_method:
                        out.append(["released", cls, attr, other_module, other, by_method])
            for method in entry["calls"]:
                made = self.method_made(full, method)
                if made is not None:
                    out.append(["method", cls, method, made.label, list(made.spec.release), made.spec.awaited])
        return out

    def digest_of(self, module: str) -> str:
        """A hash of `facts_of(module)`: a cached result stays valid while it holds."""
        return facts_digest(self.facts_of(module))

    def view_for(self, summary: Dict[str, Any], path: str) -> "ModuleView":
        """The view of a file given with its summary as it is now: the index's own when
        that is the summary it holds for the file's module, else the index with this
        summary in its place (a file edited since the index was built)."""
        module = summary["module"]
        if self.modules.get(module) == summary:
            return self.view(module, path)
        modules = dict(self.modules)
        modules[module] = summary
        paths = dict(self.paths)
        paths[module] = path
        return ProjectIndex(modules, paths, self.knowledge, self.root).view(module, path)

    def view(self, module: str, path: str = "") -> "ModuleView":
        """The index as the rules of `module` see it."""
        from leaklint.project.modules import module_name as _name

        is_package = _name(path)[1] if path else False
        return ModuleView(self, module, is_package)

    # --- places -------------------------------------------------------------------------

    def display(self, module: str) -> str:
        path = self.paths.get(module, module)
        if self.root and os.path.isabs(path):
            try:
                rel = os.path.relpath(path, self.root)
                if not rel.startswith(".."):
                    return rel
            except ValueError:
                pass
        return path

    def where(self, module: str, line: int) -> str:
        return f"{self.display(module)}:{line}"

    def explain(self, module: str) -> Dict[str, Any]:
        """What the index knows of one module (for `leaklint index`)."""
        summary = self.modules.get(module, {})
        out: Dict[str, Any] = {"module": module, "factories": {}, "resource classes": {}, "releases": {},
                               "attributes": {}, "depends on": []}
        for qualname in summary.get("functions", {}):
            path = qualname.split(".")
            made = self.method_made(f"{module}.{path[0]}", path[1]) if len(path) == 2 else self.made_by(f"{module}.{qualname}")
            if made is not None:
                out["factories"][qualname] = made.label
        for name, entry in summary.get("classes", {}).items():
            made = self.made_by(f"{module}.{name}")
            if made is not None:
                out["resource classes"][name] = made.label + f"; release: {', '.join(made.spec.release)}"
            for attr in set(entry["releases"]) | set(entry["stores"]):
                where = self.releases(f"{module}.{name}", attr, self._owned_release(module, name, attr))
                out["releases"][f"{name}.{attr}"] = where or "not released in the class or its project bases"
        for key, (ref, line) in summary.get("attrs", {}).items():
            out["attributes"][key] = f"{_short(ref)}() at line {line}"
        for key, (ref, line) in summary.get("objects", {}).items():
            out["attributes"][key] = f"{_short(ref)}() at line {line}"
        out["depends on"] = sorted({_describe_fact(fact) for fact in self.facts_of(module)})
        return out


def _describe_fact(fact: List[Any]) -> str:
    kind = fact[0]
    if kind == "made":
        return f"{fact[1]}() makes {fact[2]}"
    if kind == "type":
        return f"{fact[1]} holds {_short(fact[2])}() (set at {fact[3]})"
    if kind == "released":
        return f"{fact[1]}.{fact[2]} is released in {fact[3]}.{fact[4]}"
    return f"self.{fact[2]}() in {fact[1]} makes {fact[3]}"


class ModuleView:
    """The index as one module's rules see it."""

    def __init__(self, index: ProjectIndex, module: str, is_package: bool = False) -> None:
        self.index = index
        self.module = module
        self.is_package = is_package
        self.short_names = index.short_names

    def made(self, ctx: Any, call: Any) -> Optional[Made]:
        """What the libcst call `call` (the walk at it) creates, by the index: a project
        factory or resource class, called by name, through an import, or on `self`."""
        from leaklint.analysis.scopes import qualified_name

        func = call.func
        kind = type(func).__name__
        last = func.value if kind == "Name" else func.attr.value if kind == "Attribute" else None
        if last not in self.short_names:
            return None
        name = qualified_name(func, ctx.scope)
        if name is not None:
            if name.startswith("builtins."):
                return None
            made = self.index.made_by(self.absolute(name))
            return made if made is not None and made.kind != "library" else None
        if kind == "Name":
            found = ctx.scope.find(last)
            if found is None or found[0].kind != "module":
                return None
            bindings = found[1]
            if len(bindings) != 1 or bindings[0].kind not in ("def", "class"):
                return None
            made = self.index.made_by(f"{self.module}.{last}")
            return made if made is not None and made.kind != "library" else None
        # `self.m()` in a method of a top-level class
        value = func.value
        if type(value).__name__ != "Name":
            return None
        cls = self.method_class(ctx, value.value)
        if cls is None:
            return None
        made = self.index.method_made(f"{self.module}.{cls}", last)
        return made if made is not None and made.kind != "library" else None

    @staticmethod
    def method_class(ctx: Any, holder: str) -> Optional[str]:
        """The name of the top-level class whose method the walk is in, when `holder` is
        that method's first parameter (`self`, `cls`)."""
        scope = ctx.scope
        while scope is not None and scope.kind not in ("function",):
            if scope.kind in ("class", "module"):
                return None
            scope = scope.parent
        if scope is None or scope.parent is None or scope.parent.kind != "class":
            return None
        if scope.parent.parent is None or scope.parent.parent.kind != "module":
            return None
        method = scope.node
        params = method.params.posonly_params or method.params.params
        if not params or params[0].name.value != holder:
            return None
        for decorator in method.decorators:
            expr = decorator.decorator
            if type(expr).__name__ == "Name" and expr.value == "staticmethod":
                return None
        return scope.parent.node.name.value

    def chain_name(self, expr: Any, scope: Any) -> Optional[str]:
        """The absolute name of the libcst Attribute chain `expr` (`app.state.updates`)
        when its root is a module-level name or an import, seen from `scope`."""
        parts: List[str] = []
        while type(expr).__name__ == "Attribute":
            parts.append(expr.attr.value)
            expr = expr.value
        if type(expr).__name__ != "Name":
            return None
        found = scope.find(expr.value)
        if found is None or found[0].kind != "module":
            return None
        bindings = found[1]
        if len(bindings) == 1 and bindings[0].kind == "import":
            base = self.absolute(bindings[0].qualified or "")
        elif all(b.kind in ("assign", "annassign", "def", "class") for b in bindings):
            base = f"{self.module}.{expr.value}"
        else:
            return None
        return ".".join([base, *reversed(parts)])

    @property
    def type_words(self) -> frozenset:
        """Every name in what attributes set anywhere in the project hold (`pubsub`,
        `redis`): a receiver in any module may have such a type."""
        return self.index.type_words

    def released_in_bases(self, cls: str, attr: str, release: Iterable[str] = ()) -> Optional[str]:
        """Where a project base of the top-level class `cls` (in any module) releases
        `self.<attr>` (with one of `release`, or generically): `pkg/base.py: Base.close`."""
        return self.index.releases(f"{self.module}.{cls}", attr, release)

    def absolute(self, qualified: str) -> str:
        """An absolute name for a name the scope resolver gave (relative ones start with dots)."""
        if not qualified.startswith("."):
            return qualified
        from leaklint.project.summary import resolve_relative

        level = len(qualified) - len(qualified.lstrip("."))
        return resolve_relative(self.module, self.is_package, level, qualified[level:] or None)


def names_of(paths: Iterable[str]) -> Dict[str, str]:
    """module name -> path for project files (see modules.module_name)."""
    from leaklint.project.modules import module_name

    out: Dict[str, str] = {}
    for path in paths:
        name, _package = module_name(path)
        if name and name not in out:
            out[name] = path
    return out
