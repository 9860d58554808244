"""What the report filters offer a caller: the flows and organisations they may see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.organisations import OrganisationRead, list_organisations
from storage.repositories.flows import FlowRepository
from storage.repositories.organisations import Scope


@dataclass(frozen=True, slots=True)
class FlowChoice:
    id: int  # flows.id, what build_report's flow_id takes
    code: str
    category: str
    title_zh: str


@dataclass(frozen=True, slots=True)
class ReportChoices:
    flows: list[FlowChoice]
    organisations: list[OrganisationRead]

    @property
    def categories(self) -> dict[str, str]:
        """Each category code once, named by its first flow's title (an organisation's own
        flow and the shared one can serve the same category)."""
        named: dict[str, str] = {}
        for f in self.flows:
            named.setdefault(f.category, f.title_zh)
        return named


async def report_choices(s: AsyncSession, scope: Scope) -> ReportChoices:
    latest = await FlowRepository(s).list_latest(visible_to=scope)
    flows = [
        FlowChoice(
            id=v.flow_id,
            code=v.flow.code,
            category=v.flow.category,
            title_zh=str((v.definition.get("title") or {}).get("zh") or v.flow.code),
        )  # fmt: skip
        for v in latest
        if v.definition.get("kind", "survey") == "survey"
    ]
    return ReportChoices(flows=flows, organisations=await list_organisations(s, scope=scope))
