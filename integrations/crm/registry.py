"""The CRM connectors the app knows: name -> its settings and how to build it from them.

Adding a connector is one module (``integrations/crm/<name>.py``: the connector class, its
:class:`~integrations.crm.base.ConnectorSettings` and a ``connect(settings)``) plus one line in
:data:`REGISTRY`. Everything else iterates the registry: the settings (``Settings.crm`` in
``bot/settings.py`` holds one part per connector, read from the environment with every other
setting), the sync (:meth:`CrmSettings.connectors`), the write-back and `customers sync`'s
message when none is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from integrations.crm import hubspot, salesforce
from integrations.crm.base import ConnectorSettings, CrmConnector

S = TypeVar("S", bound=ConnectorSettings)


@dataclass(frozen=True)
class CrmEntry(Generic[S]):
    """One connector: its name for people, the settings it declares and the factory that builds it
    from them. The registry's key is its ``source`` (stored on its customers, deals and contacts)."""

    label: str
    settings: type[S]
    connect: Callable[[S], CrmConnector]


REGISTRY: dict[str, CrmEntry[Any]] = {
    "hubspot": CrmEntry("HubSpot", hubspot.HubSpotSettings, hubspot.connect),
    "salesforce": CrmEntry("Salesforce", salesforce.SalesforceSettings, salesforce.connect),
}


def variables() -> frozenset[str]:
    """Every environment variable a registered connector reads."""
    return frozenset(
        str(field.alias)
        for entry in REGISTRY.values()
        for field in entry.settings.model_fields.values()
        if field.alias
    )


class CrmSettings(BaseModel):
    """Every registered connector's settings (``Settings.crm``), one field per registry name.

    Validated from the flat environment variables (``EXPENSEBOT_HUBSPOT_TOKEN``…): each
    connector's part takes its own. The class with the fields is made from the registry
    (:data:`CrmSettingsModel`); this one holds what callers use.
    """

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and not set(data) & set(REGISTRY):
            return {name: data for name in REGISTRY}
        return data

    def of(self, name: str) -> ConnectorSettings:
        settings = getattr(self, name)
        assert isinstance(settings, ConnectorSettings)
        return settings

    @property
    def configured_names(self) -> list[str]:
        """The connectors with enough settings to connect, in registry order."""
        return [name for name in REGISTRY if self.of(name).configured]

    @property
    def configured(self) -> bool:
        return bool(self.configured_names)

    def connectors(self) -> list[CrmConnector]:
        """A new connector for each configured CRM (the caller closes them)."""
        return [REGISTRY[name].connect(self.of(name)) for name in self.configured_names]


def _model() -> type[CrmSettings]:
    fields: dict[str, Any] = {
        name: (entry.settings, Field(default_factory=entry.settings)) for name, entry in REGISTRY.items()
    }
    return create_model("CrmSettings", __base__=CrmSettings, **fields)


# The model to validate with (and to annotate a pydantic field with): CrmSettings with one
# field per registered connector. Type checkers see CrmSettings.
if TYPE_CHECKING:
    CrmSettingsModel = CrmSettings
else:
    CrmSettingsModel = _model()


def crm_settings(values: Mapping[str, str]) -> CrmSettings:
    """The connectors' settings from environment-style variables (unknown names are ignored)."""
    return CrmSettingsModel.model_validate(dict(values))


def how_to_configure() -> str:
    """What to set for each connector, for the message of a command that needs a CRM."""
    return ", or ".join(entry.settings.HOW_TO for entry in REGISTRY.values())
