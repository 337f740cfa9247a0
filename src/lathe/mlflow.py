"""lathe's MLflow flavor: bundles logged, loaded and served by MLflow, without pickle.

An MLflow model written here holds the bundle folder as lathe saves it (JSON plan and
manifest, the learner's own text format, checksums) under ``data/bundle``, and an ``MLmodel``
file with two flavors: ``lathe`` (``load_model`` gives the ``Bundle`` back) and
``python_function`` (``mlflow.pyfunc.load_model`` and ``mlflow models serve``). The input
signature comes from the manifest, so MLflow refuses what lathe would refuse: a missing input
column, or a value of the wrong kind.

>>> import lathe.mlflow
>>> info = lathe.mlflow.log_model(bundle, name="churn")  # doctest: +SKIP
>>> mlflow.pyfunc.load_model(info.model_uri).predict(frame)  # doctest: +SKIP

Needs the ``lathe[mlflow]`` extra.
"""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from lathe import errors, workflows
from lathe import registry as registries

if TYPE_CHECKING:
    from lathe.bundle import Bundle

try:
    import mlflow
    from mlflow.models import Model, ModelSignature
    from mlflow.models.model import ModelInfo
    from mlflow.types import ColSpec, DataType, Schema, TensorSpec
except ImportError:  # pragma: no cover - the message is the point
    raise errors.MissingDependencyError("lathe.mlflow needs MLflow: pip install 'lathe[mlflow]'") from None

__all__ = ["FLAVOR_NAME", "load_model", "log_model", "push", "save_model", "signature"]

FLAVOR_NAME = "lathe"
_BUNDLE = "bundle"  # the bundle's folder name under the MLflow model's data/

# The manifest's input kinds, and the profile's storage types of id columns, as MLflow column types.
_TYPES = {
    "number": DataType.double,
    "integer": DataType.long,
    "string": DataType.string,
    "boolean": DataType.boolean,
    "datetime": DataType.datetime,
}


def signature(bundle: Bundle) -> ModelSignature:
    """The MLflow signature of ``bundle``: its input columns and kinds, its id columns (optional), its outputs.

    A number column is ``long`` where it was trained on whole numbers without a missing value
    (pandas holds it as int64, which MLflow will not turn into ``double``), ``double`` otherwise.
    """
    profiled = {c["name"]: c for c in bundle.manifest["profile"]["columns"]}
    inputs: list[ColSpec | TensorSpec] = [
        ColSpec(_input_type(c["kind"], profiled.get(c["name"], {})), c["name"]) for c in bundle.manifest["inputs"]
    ]
    for name in bundle.ids:
        storage = profiled.get(name, {}).get("storage", "")
        inputs.append(ColSpec(_TYPES.get(storage, DataType.string), name, required=False))
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(_outputs(bundle)))


def _input_type(kind: str, profiled: dict[str, Any]) -> DataType:
    whole = profiled.get("storage") == "integer" and profiled.get("present") == profiled.get("rows")
    return DataType.long if kind == "number" and whole else _TYPES[kind]


def _outputs(bundle: Bundle) -> list[ColSpec | TensorSpec]:
    if not bundle.classes:
        return [ColSpec(DataType.double, "prediction")]
    label = DataType.boolean if all(isinstance(c, bool) for c in bundle.classes) else DataType.string
    if all(isinstance(c, int) and not isinstance(c, bool) for c in bundle.classes):
        label = DataType.long
    outputs: list[ColSpec | TensorSpec] = [ColSpec(label, "prediction")]
    return outputs + [ColSpec(DataType.double, f"probability_{c}") for c in bundle.classes]


def save_model(
    bundle: Bundle | str | Path,
    path: str | Path,
    mlflow_model: Model | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write ``bundle`` (or the bundle saved in that folder) as an MLflow model in the new folder ``path``.

    The requirements default to this version of lathe (``lathe[mlflow]==...``); MLflow adds itself.
    """
    bundle = _as_bundle(bundle)
    mlflow_model = mlflow_model or Model()
    mlflow_model.add_flavor(
        FLAVOR_NAME,
        bundle=f"data/{_BUNDLE}",
        lathe_version=version("lathe"),
        task=bundle.task.value,
        target=bundle.manifest["target"],
    )
    with tempfile.TemporaryDirectory(prefix="lathe-mlflow-") as staging:
        folder = bundle.save(Path(staging) / _BUNDLE)
        mlflow.pyfunc.save_model(
            path=str(path),
            loader_module=__name__,
            data_path=str(folder),
            mlflow_model=mlflow_model,
            signature=signature(bundle),
            pip_requirements=pip_requirements or [f"lathe[mlflow]=={version('lathe')}"],
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
        )


def log_model(
    bundle: Bundle | str | Path,
    name: str,
    registered_model_name: str | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Log ``bundle`` as the model ``name`` of the active MLflow run (one is started if none is).

    With ``registered_model_name``, also add it as a new version of that model in MLflow's model
    registry. Other keywords go to ``save_model`` and to MLflow's ``Model.log`` (``tags``, ...).
    """
    import lathe.mlflow as flavor  # this module, as the flavor MLflow calls back

    info: ModelInfo = Model.log(
        artifact_path=None,
        name=name,
        flavor=flavor,
        registered_model_name=registered_model_name,
        bundle=_as_bundle(bundle),
        **kwargs,
    )
    return info


def push(
    name: str,
    version: int | None = None,
    registry: registries.Registry | str | Path | None = None,
    registered_model_name: str | None = None,
) -> ModelInfo:
    """Copy a version of ``name`` from lathe's registry into MLflow's model registry.

    The version (by default the production one, else the latest) is logged into the active run
    and registered as a new version of ``registered_model_name`` (default ``name``), tagged with
    its lathe version number, stage, parent and data fingerprint; a staging or production
    version also gets its stage as an MLflow alias (``models:/name@production``).
    """
    if not isinstance(registry, registries.Registry):
        registry = registries.Registry(registry)
    chosen = registry.version(name, version)
    target = registered_model_name or name
    info = log_model(registry.load(name, chosen.number), name=name, registered_model_name=target)
    client = mlflow.MlflowClient()
    tags = {"lathe.version": chosen.number, "lathe.stage": chosen.stage, "lathe.parent": chosen.parent or ""}
    for key, value in {**tags, "lathe.fingerprint": chosen.fingerprint or ""}.items():
        client.set_model_version_tag(target, str(info.registered_model_version), key, str(value))
    if chosen.stage in ("staging", "production"):
        client.set_registered_model_alias(target, chosen.stage, str(info.registered_model_version))
    return info


def load_model(model_uri: str, dst_path: str | None = None) -> Bundle:
    """The ``Bundle`` logged at ``model_uri`` (``runs:/<id>/<name>``, ``models:/<name>/<version>``, a folder)."""
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=dst_path))
    flavors = Model.load(str(local)).flavors
    if FLAVOR_NAME not in flavors:
        raise errors.LatheError(
            f"{model_uri}: not a lathe model (its flavors: {', '.join(flavors)}); log it with lathe.mlflow"
        )
    return workflows.load_bundle(local / flavors[FLAVOR_NAME]["bundle"])


class _PyfuncModel:
    """What ``mlflow.pyfunc`` calls: a bundle's ``predict`` behind MLflow's interface."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle

    def get_raw_model(self) -> Bundle:
        """The bundle itself."""
        return self.bundle

    def predict(self, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """``Bundle.predict``: id columns, ``prediction`` and ``probability_<class>``."""
        return self.bundle.predict(pd.DataFrame(model_input))


def _load_pyfunc(path: str) -> _PyfuncModel:
    """Called by ``mlflow.pyfunc.load_model`` with the bundle's folder."""
    return _PyfuncModel(workflows.load_bundle(path))


def _as_bundle(bundle: Bundle | str | Path) -> Bundle:
    return workflows.load_bundle(bundle) if isinstance(bundle, str | Path) else bundle
