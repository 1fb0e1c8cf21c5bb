"""The dashboards as code: the Superset export bundle in superset/assets (databases/, datasets/, charts/,
dashboards/), pointed at the models of a dbt manifest and the read-only warehouse user, imported through
the REST API. Import is idempotent (overwrite by uuid) and prunes charts that left the bundle."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchard.bi import config
from orchard.bi.superset_api import SupersetAPI
from orchard.settings import ClickHouseSettings


class BiAssetError(RuntimeError):
    """The bundle does not fit the dbt project: the message names the file and the fix."""


@dataclass
class Bundle:
    files: dict[str, dict[str, Any]]  # path inside the bundle -> parsed YAML

    @classmethod
    def load(cls, assets_dir: Path = config.ASSETS_DIR) -> Bundle:
        if not (assets_dir / "metadata.yaml").exists():
            raise BiAssetError(f"no Superset bundle in {assets_dir} (metadata.yaml missing)")
        files = {
            path.relative_to(assets_dir).as_posix(): yaml.safe_load(path.read_text())
            for path in sorted(assets_dir.rglob("*.yaml"))
        }
        return cls(files)

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        return {path: data for path, data in self.files.items() if path.startswith(f"{kind}/")}

    @property
    def dashboards(self) -> dict[str, dict[str, Any]]:
        """slug -> dashboard"""
        return {data["slug"]: data for data in self.of_kind("dashboards").values()}

    @property
    def datasets(self) -> dict[str, dict[str, Any]]:
        """uuid -> dataset"""
        return {data["uuid"]: data for data in self.of_kind("datasets").values()}

    @property
    def charts(self) -> dict[str, dict[str, Any]]:
        """uuid -> chart"""
        return {data["uuid"]: data for data in self.of_kind("charts").values()}

    def dashboard_charts(self, slug: str) -> list[dict[str, Any]]:
        position = self.dashboards[slug]["position"]
        uuids = [
            item["meta"]["uuid"]
            for item in position.values()
            if isinstance(item, dict) and item.get("type") == "CHART"
        ]
        return [self.charts[uuid] for uuid in uuids]


def model_relations(manifest: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """dbt model name -> (database, table) it is built into."""
    return {
        node["name"]: (node["schema"], node.get("alias") or node["name"])
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") in {"model", "snapshot", "seed"}
    }


def check_against_manifest(bundle: Bundle, manifest: dict[str, Any]) -> list[str]:
    """What does not fit: an exposure without its dashboard (slug = exposure name), a dashboard without an
    exposure, a dataset whose table is not a dbt model. Empty when all is well."""
    problems = []
    exposures = {exposure["name"] for exposure in manifest.get("exposures", {}).values()}
    dashboards = set(bundle.dashboards)
    for name in sorted(exposures - dashboards):
        problems.append(f"dbt exposure {name!r} has no dashboard: add superset/assets/dashboards/{name}.yaml")
    for slug in sorted(dashboards - exposures):
        problems.append(f"dashboard {slug!r} has no dbt exposure: add one named {slug!r} next to its marts")
    models = model_relations(manifest)
    for path, dataset in bundle.of_kind("datasets").items():
        if dataset["table_name"] not in models:
            problems.append(f"{path}: table {dataset['table_name']!r} is not a model of the dbt project")
    for path, chart in bundle.of_kind("charts").items():
        if chart["dataset_uuid"] not in bundle.datasets:
            problems.append(f"{path}: its dataset_uuid is not a dataset of the bundle")
    return problems


def warehouse_uri(warehouse: ClickHouseSettings, user: str) -> str:
    """The Superset database URI (clickhouse-connect's dialect), password masked: it goes separately."""
    query = "?secure=true" if warehouse.secure else ""
    return f"clickhousedb://{user}:XXXXXXXXXX@{warehouse.host}:{warehouse.port}/{warehouse.database}{query}"


def build_zip(bundle: Bundle, manifest: dict[str, Any], warehouse: ClickHouseSettings, bi_user: str) -> bytes:
    """The bundle as Superset imports it, each dataset on the database its dbt model is built into."""
    problems = check_against_manifest(bundle, manifest)
    if problems:
        raise BiAssetError("the dashboards do not fit the dbt project: " + "; ".join(problems))
    models = model_relations(manifest)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in bundle.files.items():
            data = dict(data)
            if path.startswith("datasets/"):
                data["schema"], data["table_name"] = models[data["table_name"]]
            elif path.startswith("databases/"):
                data["sqlalchemy_uri"] = warehouse_uri(warehouse, bi_user)
            archive.writestr(f"orchard_dashboards/{path}", yaml.safe_dump(data, sort_keys=False))
    return buffer.getvalue()


@dataclass
class ImportResult:
    dashboards: list[str]
    charts: int
    pruned: list[str] = field(default_factory=list)


def import_bundle(
    api: SupersetAPI,
    manifest: dict[str, Any],
    warehouse: ClickHouseSettings | None = None,
    bi_user: str = config.BI_WAREHOUSE_USER,
    bi_password: str | None = None,
    bundle: Bundle | None = None,
) -> ImportResult:
    """Import (overwrite) every dashboard, chart, dataset and the database; delete the charts on the Orchard
    database that the bundle no longer has, so a chart removed from the code disappears."""
    bundle = bundle or Bundle.load()
    warehouse = warehouse or ClickHouseSettings.from_env()
    password = bi_password or config.bi_warehouse_password()
    database_files = list(bundle.of_kind("databases"))
    api.import_dashboards(
        build_zip(bundle, manifest, warehouse, bi_user),
        {path: password for path in database_files},
    )
    ours = {row["id"] for row in orchard_datasets(api)}
    pruned = []
    for chart in api.list("chart", ["id", "uuid", "slice_name", "datasource_id"]):
        if chart["datasource_id"] in ours and chart["uuid"] not in bundle.charts:
            api.call("DELETE", f"/chart/{chart['id']}")
            pruned.append(chart["slice_name"])
    return ImportResult(sorted(bundle.dashboards), len(bundle.charts), pruned)


def orchard_datasets(api: SupersetAPI) -> list[dict[str, Any]]:
    """The datasets on the Orchard warehouse database."""
    rows = api.list("dataset", ["id", "uuid", "table_name", "schema", "database.database_name"])
    return [row for row in rows if row["database"]["database_name"] == config.DATABASE_NAME]
