"""Model edits, and how each becomes an RFC 6902 patch against the model as it was submitted.

A fix is a few format-neutral edits ("insert Flatten before dense", "set padding='same' on
conv2d"). An editor turns them into JSON Patch operations for the submitted document: a native
document (``/layers/i``), or a Keras ``to_json()`` (``/config/layers/i``, where a Functional
model's inbound nodes are rewired). Each edit is applied to a working copy as it is written, so
the next edit sees the positions the previous one left.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from . import jsonpatch, legacy
from .formats.common import canonical_name, declared_args
from .formats.naming import snake_case
from .graph import ModelGraph
from .jsonpatch import Patch, pointer
from .layers import REGISTRY


class CannotEdit(Exception):
    """The document does not have the form an edit needs; the fix is not offered."""


@dataclass(frozen=True)
class NewLayer:
    """A layer a fix adds: its Keras class name and arguments (JSON values)."""

    type: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        args = ", ".join(f"{k}={as_python(v)}" for k, v in self.args.items())
        return f"{self.type}({args})" if args else self.type


@dataclass(frozen=True)
class InsertBefore:
    """A new layer between ``layer`` and its input number ``branch``."""

    layer: str
    new: NewLayer
    branch: int = 0


@dataclass(frozen=True)
class ReplaceLayer:
    """``layer`` becomes another layer type, with the same name and inputs."""

    layer: str
    new: NewLayer


@dataclass(frozen=True)
class SetArgs:
    """Arguments of ``layer`` set (or changed) to the given values."""

    layer: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class SetInnerArgs:
    """Arguments of the layers a wrapper holds (Bidirectional's ``layer`` and
    ``backward_layer``), set to the given values."""

    layer: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class SetType:
    """``layer`` keeps its arguments under another class name (a typo fixed)."""

    layer: str
    type: str


@dataclass(frozen=True)
class SetInputShape:
    """The model input ``input`` takes samples of ``shape`` (no batch axis)."""

    input: str
    shape: tuple[int | None, ...]


Edit = InsertBefore | ReplaceLayer | SetArgs | SetInnerArgs | SetType | SetInputShape

WRAPPED = ("layer", "backward_layer")
"""The arguments of a wrapper that hold a layer."""


def as_python(value: Any) -> str:
    """A JSON value as a Keras user writes it: tuples for lists, quoted strings."""
    if isinstance(value, list):
        inner = ", ".join(as_python(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def edit_model(model: Mapping[str, Any], graph: ModelGraph, edits: Sequence[Edit],
               names: Callable[[], set[str]] | None = None) -> Editor:
    """An editor that has made ``edits`` to the submitted ``model``: its ``patch`` and the
    patched ``doc`` (``model`` itself is untouched). ``names`` gives the ``all_names`` of
    ``model`` when the caller keeps them; they are only read when an edit names a new layer.
    Raises CannotEdit when the document does not allow one of the edits."""
    kind = NativeEditor if graph.format == "native" else KerasEditor
    editor = kind(model, graph, names or (lambda: all_names(model)))
    for edit in edits:
        editor.edit(edit)
    return editor


class Editor:
    """Writes edits as patch operations, keeping a working copy of the document up to date.

    The working copy shares with the submitted model what the edits leave alone: each
    operation copies the containers on its path (``jsonpatch.applied``), never changes them.
    """

    layers_key: str  # "layers" (native) or "config/layers" (Keras)

    def __init__(self, model: Mapping[str, Any], graph: ModelGraph,
                 names: Callable[[], set[str]]) -> None:
        self.doc = dict(model)
        self.graph = graph
        self.paths = dict(graph.paths)
        self.patch: Patch = []
        self.document_names = names

    @cached_property
    def taken(self) -> set[str]:
        """The names a new layer may not take: the model's layers and inputs, and every name
        in the document (read when an edit first names a new layer: a whole Keras document is
        long to walk, and most edits name none)."""
        return set(self.graph.layers) | self.graph.input_names() | self.document_names()

    def edit(self, edit: Edit) -> None:
        if isinstance(edit, InsertBefore):
            self.insert_before(edit)
        elif isinstance(edit, ReplaceLayer):
            self.replace_layer(edit)
        elif isinstance(edit, SetArgs):
            self.set_args(edit)
        elif isinstance(edit, SetInnerArgs):
            self.set_inner_args(edit)
        elif isinstance(edit, SetType):
            self.set_type(edit)
        else:
            self.set_input_shape(edit)

    # -- writing operations -------------------------------------------------------------------
    def op(self, op: str, path: str, value: Any = None) -> None:
        operation = {"op": op, "path": path}
        if op != "remove":
            operation["value"] = value
        try:
            self.doc = jsonpatch.applied(self.doc, operation)  # it copies the value it adds
        except (jsonpatch.JsonPatchError, KeyError, TypeError) as exc:
            raise CannotEdit(str(exc)) from None
        self.patch.append(operation)

    def insert_entry(self, layer: str, entry: dict[str, Any]) -> None:
        """Insert ``entry`` just before ``layer``'s entry."""
        container, position = self.position(layer)
        self.op("add", f"{container}/{position}", entry)
        prefix = f"{container}/"
        for name, path in self.paths.items():
            if path.startswith(prefix):
                index, slash, rest = path[len(prefix):].partition("/")
                if index.isdigit() and int(index) >= position:
                    self.paths[name] = f"{prefix}{int(index) + 1}{slash}{rest}"

    def position(self, layer: str) -> tuple[str, int]:
        path = self.paths.get(layer)
        if path is None:
            raise CannotEdit(f"'{layer}' has no entry of its own in the document")
        container, _, index = path.rpartition("/")
        return container, int(index)

    def entry(self, layer: str) -> dict[str, Any]:
        container, index = self.position(layer)
        try:
            entry = jsonpatch.resolve(self.doc, jsonpatch.split(f"{container}/{index}"))
        except jsonpatch.JsonPatchError as exc:
            raise CannotEdit(str(exc)) from None
        if not isinstance(entry, dict):
            raise CannotEdit(f"'{layer}' is not an object")
        return entry

    def fresh_name(self, type_name: str) -> str:
        base = snake_case(type_name)
        name, n = base, 0
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name

    def args_path(self, layer: str) -> str:
        raise NotImplementedError

    def config_of(self, layer: str) -> dict[str, Any]:
        raise NotImplementedError

    def set_args(self, edit: SetArgs) -> None:
        config = self.config_of(edit.layer)
        base = self.args_path(edit.layer)
        for arg, value in edit.args.items():
            for old in legacy_spellings(self.graph.layers[edit.layer].keras_name, arg, config):
                self.op("remove", f"{base}{pointer(old)}")
            self.op("add", f"{base}{pointer(arg)}", value)

    def set_inner_args(self, edit: SetInnerArgs) -> None:
        """Native (``{"type": ...}``) or Keras (``{"class_name", "config"}``) inner layers."""
        config = self.config_of(edit.layer)
        wrapped = [k for k in WRAPPED if isinstance(config.get(k), dict)]
        if not wrapped:
            raise CannotEdit(f"'{edit.layer}' wraps no layer")
        for key in wrapped:
            inner = f"{self.args_path(edit.layer)}/{key}"
            if "config" in config[key]:
                inner += "/config"
            for arg, value in edit.args.items():
                self.op("add", f"{inner}{pointer(arg)}", value)

    def insert_before(self, edit: InsertBefore) -> None:
        raise NotImplementedError

    def replace_layer(self, edit: ReplaceLayer) -> None:
        raise NotImplementedError

    def set_type(self, edit: SetType) -> None:
        raise NotImplementedError

    def set_input_shape(self, edit: SetInputShape) -> None:
        raise NotImplementedError

    def drop_build_config(self, layer: str) -> None:
        """Forget what a layer was built with, once a fix changed its input (Keras only)."""


def all_names(document: Any) -> set[str]:
    """Every ``name`` string in a document: no new layer may take one."""
    names: set[str] = set()
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "name" and isinstance(item, str):
                    names.add(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend([item for item in value if isinstance(item, dict | list)])
    return names


def auto_name_of(name: str, base: str) -> bool:
    """Whether ``name`` is one the loader gives a layer of snake-case class name ``base``:
    ``base`` itself or ``base_<n>``."""
    head, _, number = name.rpartition("_")
    return name == base or (head == base and number.isdecimal())


def legacy_spellings(class_name: str, arg: str, config: Mapping[str, Any]) -> list[str]:
    """Keras 1/2 keys in ``config`` that the loader would read as ``arg``."""
    cls = REGISTRY.get(canonical_name(class_name))
    declared = declared_args(class_name)
    renames = {**legacy.COMMON_RENAMES, **(cls.legacy_args if cls else {})}
    old = [k for k, new in renames.items() if new == arg and k in config and k not in declared]
    if arg == "kernel_size":
        old += [k for names in legacy.KERNEL_DIMS for k in names if k in config]
    if arg == "data_format" and "dim_ordering" in config:
        old.append("dim_ordering")
    return old


# -- native documents -----------------------------------------------------------------------------

NATIVE_INPUT_ARGS = ("input_shape", "input_dim", "batch_input_shape", "batch_size",
                     "input_length")


class NativeEditor(Editor):
    """The native document of API.md: ``layers`` entries ``{"type": ..., args...}``."""

    def args_path(self, layer: str) -> str:
        return self.paths[layer]

    def config_of(self, layer: str) -> dict[str, Any]:
        return self.entry(layer)

    def new_entry(self, new: NewLayer, named: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": new.type}
        base = snake_case(new.type)
        if named or any(auto_name_of(name, base) for name in self.taken):
            entry["name"] = self.fresh_name(new.type)
        else:
            self.taken.add(base)  # the loader will name it so
        return {**entry, **new.args}

    def insert_before(self, edit: InsertBefore) -> None:
        target = self.entry(edit.layer)
        wired = "inputs" in target
        if not wired and edit.branch:
            raise CannotEdit("a layer without 'inputs' has a single input")
        entry = self.new_entry(edit.new, named=wired)
        moved = self.first_layer_input_args(edit.layer, target)
        entry.update(moved)
        if wired:
            refs = target["inputs"] if isinstance(target["inputs"], list) else [target["inputs"]]
            if edit.branch >= len(refs):
                raise CannotEdit(f"'{edit.layer}' has no input {edit.branch}")
            entry["inputs"] = [refs[edit.branch]]
        self.insert_entry(edit.layer, entry)
        for key in moved:
            self.op("remove", f"{self.paths[edit.layer]}/{key}")
        if wired:
            suffix = f"/{edit.branch}" if isinstance(target["inputs"], list) else ""
            self.op("replace", f"{self.paths[edit.layer]}/inputs{suffix}", entry["name"])

    def first_layer_input_args(self, layer: str, target: Mapping[str, Any]) -> dict[str, Any]:
        """Keras 2 input arguments on the first layer move to a layer inserted before it."""
        if self.doc.get("inputs") is not None or self.position(layer)[1] != 0:
            return {}
        own = declared_args(str(target.get("type")))
        return {k: target[k] for k in NATIVE_INPUT_ARGS if k in target and k not in own}

    def replace_layer(self, edit: ReplaceLayer) -> None:
        old = self.entry(edit.layer)
        entry: dict[str, Any] = {"type": edit.new.type}
        if "name" in old or self.referenced(edit.layer):
            entry["name"] = edit.layer
        if "inputs" in old:
            entry["inputs"] = old["inputs"]
        entry.update(self.first_layer_input_args(edit.layer, old))
        self.op("replace", self.paths[edit.layer], {**entry, **edit.new.args})

    def referenced(self, layer: str) -> bool:
        """Whether another entry or ``outputs`` names ``layer``."""
        names = [self.doc.get("outputs")]
        names += [e.get("inputs") for e in self.doc.get("layers", []) if isinstance(e, dict)]
        flat = [n for item in names for n in (item if isinstance(item, list) else [item])]
        return any(isinstance(n, str) and n.partition(":")[0] == layer for n in flat)

    def set_type(self, edit: SetType) -> None:
        self.op("replace", f"{self.paths[edit.layer]}/type", edit.type)

    def set_input_shape(self, edit: SetInputShape) -> None:
        shape = list(edit.shape)
        inputs = self.doc.get("inputs")
        if isinstance(inputs, dict) and edit.input in inputs:
            self.op("replace", f"/inputs{pointer(edit.input)}", shape)
        elif inputs is not None and not isinstance(inputs, dict):
            self.op("replace", "/inputs", shape)
        else:
            self.set_declared_input(edit.input, shape)

    def set_declared_input(self, name: str, shape: list[int | None]) -> None:
        """An InputLayer entry, or the Keras 2 input arguments of the first layer."""
        layers = self.doc.get("layers") or []
        for i, entry in enumerate(layers):
            if entry.get("type") == "InputLayer" and (entry.get("name") or "input") == name:
                if entry.get("batch_shape") is not None:
                    batch = entry["batch_shape"][0]
                    self.op("replace", f"/layers/{i}/batch_shape", [batch, *shape])
                else:
                    self.remove_keys(f"/layers/{i}", entry, ("input_shape",))
                    self.op("add", f"/layers/{i}/shape", shape)
                return
        first = layers[0] if layers else {}
        if first.get("batch_input_shape") is not None:
            self.op("replace", "/layers/0/batch_input_shape",
                    [first["batch_input_shape"][0], *shape])
            return
        own = declared_args(str(first.get("type")))
        keys = [k for k in ("input_dim", "input_length") if k not in own]
        self.remove_keys("/layers/0", first, keys)
        self.op("add", "/layers/0/input_shape", shape)

    def remove_keys(self, path: str, entry: Mapping[str, Any], keys: Sequence[str]) -> None:
        for key in keys:
            if key in entry:
                self.op("remove", f"{path}/{key}")


# -- Keras documents ------------------------------------------------------------------------------

KERAS_INPUT_KEYS = ("batch_shape", "batch_input_shape", "input_shape")


class KerasEditor(Editor):
    """A Keras ``to_json()``: entries ``{"class_name", "config", ...}`` in ``config.layers``.

    In a Functional model, an inserted layer takes over the tensor its target read, and the
    target's inbound node is rewired to read the new layer.
    """

    def args_path(self, layer: str) -> str:
        return f"{self.paths[layer]}/config"

    def config_of(self, layer: str) -> dict[str, Any]:
        config = self.entry(layer).get("config")
        if not isinstance(config, dict):
            raise CannotEdit(f"'{layer}' has no config object")
        return config

    def new_entry(self, new: NewLayer, like: Mapping[str, Any]) -> dict[str, Any]:
        """A layer entry in the style of ``like`` (Keras 3 with ``module``, or tf.keras 2)."""
        name = self.fresh_name(new.type)
        config: dict[str, Any] = {"name": name, "trainable": True}
        if "dtype" in (like.get("config") or {}):
            config["dtype"] = copy.deepcopy(like["config"]["dtype"])
        config.update(new.args)
        if "module" in like:
            return {"module": "keras.layers", "class_name": new.type, "config": config,
                    "registered_name": None}
        return {"class_name": new.type, "config": config}

    def insert_before(self, edit: InsertBefore) -> None:
        target = self.entry(edit.layer)
        entry = self.new_entry(edit.new, target)
        if "inbound_nodes" in target:
            self.insert_functional(edit, target, entry)
            return
        if edit.branch:
            raise CannotEdit("a Sequential layer has a single input")
        config = target.get("config") or {}
        moved = [k for k in KERAS_INPUT_KEYS if k in config] if self.first_in(edit.layer) else []
        entry["config"].update({k: config[k] for k in moved})
        self.insert_entry(edit.layer, entry)
        for key in moved:
            self.op("remove", f"{self.paths[edit.layer]}/config/{key}")

    def first_in(self, layer: str) -> bool:
        """Whether ``layer`` is the first entry of its (Sequential) list."""
        return self.position(layer)[1] == 0

    def insert_functional(self, edit: InsertBefore, target: Mapping[str, Any],
                          entry: dict[str, Any]) -> None:
        nodes = target["inbound_nodes"]
        if not isinstance(nodes, list) or len(nodes) != 1:
            raise CannotEdit(f"'{edit.layer}' is called {len(nodes or [])} times")
        tensors = list(node_tensors(nodes[0], "/inbound_nodes/0"))
        if edit.branch >= len(tensors):
            raise CannotEdit(f"'{edit.layer}' has no input {edit.branch}")
        where, tensor = tensors[edit.branch]
        name = entry["config"]["name"]
        entry["name"] = name
        if isinstance(tensor, dict):  # Keras 3: the new layer reads the tensor, the target it
            entry["inbound_nodes"] = [{"args": [copy.deepcopy(tensor)], "kwargs": {}}]
            self.insert_entry(edit.layer, entry)
            self.op("replace", f"{self.paths[edit.layer]}{where}/config/keras_history",
                    [name, 0, 0])
        else:  # tf.keras 2: [layer, node_index, tensor_index, kwargs]
            entry["inbound_nodes"] = [[[*tensor[:3], {}]]]
            self.insert_entry(edit.layer, entry)
            for k, value in enumerate((name, 0, 0)):
                self.op("replace", f"{self.paths[edit.layer]}{where}/{k}", value)

    def replace_layer(self, edit: ReplaceLayer) -> None:
        old = self.entry(edit.layer)
        config: dict[str, Any] = {"name": edit.layer,
                                  "trainable": (old.get("config") or {}).get("trainable", True)}
        if "dtype" in (old.get("config") or {}):
            config["dtype"] = old["config"]["dtype"]
        path = self.paths[edit.layer]
        self.op("replace", f"{path}/class_name", edit.new.type)
        self.op("replace", f"{path}/config", {**config, **edit.new.args})
        if "module" in old:
            self.op("replace", f"{path}/module", "keras.layers")

    def set_type(self, edit: SetType) -> None:
        self.op("replace", f"{self.paths[edit.layer]}/class_name", edit.type)

    def set_input_shape(self, edit: SetInputShape) -> None:
        """The InputLayer's batch shape, or what declares a Sequential's input."""
        layers = (self.doc.get("config") or {}).get("layers") or []
        for i, entry in enumerate(layers):
            config = entry.get("config") or {}
            name = entry.get("name", config.get("name"))
            if entry.get("class_name") == "InputLayer" and name == edit.input:
                self.set_batch_shape(f"/config/layers/{i}/config", config, edit.shape)
                return
        if self.doc.get("class_name") != "Sequential" or not layers:
            raise CannotEdit(f"no InputLayer declares '{edit.input}'")
        config = layers[0].get("config") or {}
        if any(config.get(k) is not None for k in KERAS_INPUT_KEYS):
            self.set_batch_shape("/config/layers/0/config", config, edit.shape)
        model_config = self.doc.get("config") or {}
        if model_config.get("build_input_shape") is not None:
            batch = model_config["build_input_shape"][0]
            self.op("replace", "/config/build_input_shape", [batch, *edit.shape])
        build = self.doc.get("build_config") or {}
        if build.get("input_shape") is not None:
            self.op("replace", "/build_config/input_shape", [build["input_shape"][0], *edit.shape])

    def set_batch_shape(self, path: str, config: Mapping[str, Any],
                        shape: tuple[int | None, ...]) -> None:
        for key in ("batch_shape", "batch_input_shape"):
            if config.get(key) is not None:
                self.op("replace", f"{path}/{key}", [config[key][0], *shape])
                return
        key = "shape" if config.get("shape") is not None else "input_shape"
        self.op("replace", f"{path}/{key}", list(shape))

    def drop_build_config(self, layer: str) -> None:
        """Keras rebuilds a layer from its ``build_config``: stale once its input changed."""
        if layer in self.paths and "build_config" in self.entry(layer):
            self.op("remove", f"{self.paths[layer]}/build_config")


def node_tensors(node: Any, where: str) -> Iterator[tuple[str, Any]]:
    """The positional input tensors of an inbound node with their pointers, in call order."""
    if isinstance(node, dict):  # Keras 3
        yield from keras3_tensors(node.get("args", []), f"{where}/args")
    elif isinstance(node, list):  # tf.keras 2
        for k, item in enumerate(node):
            if isinstance(item, list) and item and isinstance(item[0], str):
                yield f"{where}/{k}", item


def keras3_tensors(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        yield where, value
    elif isinstance(value, list):
        for k, item in enumerate(value):
            yield from keras3_tensors(item, f"{where}/{k}")
