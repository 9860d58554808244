"""The published flows, by category: which surveys exist and how people name their group.

Categories are data: every published flow brings its own category, names and aliases.
Flow versions are immutable, so parsed flows are cached by version id for the process's life.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from flows.answers import parse_answer
from flows.normalize import normalize
from flows.schema import Flow, I18nText, Option, Question
from storage.repositories.flows import FlowRepository

_WHICH_GROUP = I18nText(
    zh="您好！这里是红十字会回访。请问您属于以下哪一类？",
    en="Hello! This is the Red Cross follow-up service. Which of these groups are you in?",
)


@dataclass(frozen=True)
class Catalog:
    """The latest flow of each category, in a stable order."""

    flows: tuple[tuple[int, Flow], ...]  # (flow_version_id, flow)

    def find(self, reference: str | None) -> tuple[int, Flow] | None:
        """A category by code, Chinese or English name, alias, or its number in the menu."""
        if not reference:
            return None
        ref = normalize(reference)
        for vid, flow in self.flows:
            c = flow.category
            names = {c.code, normalize(c.name.zh), normalize(c.name.en), *(normalize(a) for a in c.aliases)}
            if ref in names or ref == flow.id:
                return vid, flow
        parsed = parse_answer(self.question, reference)
        if parsed.ok:
            return next((vid, f) for vid, f in self.flows if f.category.code == parsed.value)
        return None

    @cached_property
    def question(self) -> Question:
        return Question(
            id="category",
            type="single_choice",
            prompt=_WHICH_GROUP,
            options=[
                Option(code=f.category.code, label=f.category.name, synonyms=list(f.category.aliases))
                for _, f in self.flows
            ],
        )


class FlowCache:
    """Parsed flows by version id, for the process's life: versions never change."""

    def __init__(self) -> None:
        self._by_version: dict[int, Flow] = {}
        self._catalog: tuple[tuple[int, ...], Catalog] | None = None

    def get(self, version_id: int, definition: dict) -> Flow:
        flow = self._by_version.get(version_id)
        if flow is None:
            flow = self._by_version[version_id] = Flow.model_validate(definition)
        return flow

    async def load(self, repo: FlowRepository, version_id: int) -> Flow:
        flow = self._by_version.get(version_id)
        if flow is None:
            definition = await repo.definition(version_id)
            if definition is None:
                raise LookupError(f"no flow version {version_id}")
            flow = self.get(version_id, definition)
        return flow

    async def catalog(self, repo: FlowRepository) -> Catalog:
        # One small query says which versions are latest; definitions load only when new.
        ids = tuple(await repo.latest_ids())
        if self._catalog is not None and self._catalog[0] == ids:
            return self._catalog[1]
        items = [(vid, await self.load(repo, vid)) for vid in ids]
        items.sort(key=lambda item: (item[1].category.order, item[1].category.code))
        catalog = Catalog(tuple(items))
        self._catalog = (ids, catalog)
        return catalog
