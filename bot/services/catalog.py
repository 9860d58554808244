"""The published flows, by category: which surveys exist and how people name their group.

Categories are data: every published flow brings its own category, names and aliases.
A flow is shared (no organisation: the bundled defaults) or belongs to an organisation,
where it serves that organisation and the ones under it in place of the shared flow of its
category; the nearest organisation up the tree wins.

Flow versions are immutable, so parsed flows are cached by version id for the process's
life; an organisation's place in the tree never changes, so its path is cached too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from flows.answers import parse_answer
from flows.normalize import normalize
from flows.schema import Flow, I18nText, Option, Question
from storage.db import Database
from storage.models import FlowVersion
from storage.repositories.flows import FlowRepository
from storage.repositories.organisations import OrganisationRepository

_WHICH_GROUP = I18nText(
    zh="您好！这里是红十字会回访。请问您属于以下哪一类？",
    en="Hello! This is the Red Cross follow-up service. Which of these groups are you in?",
)


@dataclass(frozen=True)
class Catalog:
    """The flow of each category an organisation's respondents take, in a stable order."""

    flows: tuple[tuple[int, Flow], ...]  # (flow_version_id, flow)

    def find(self, reference: str | None) -> tuple[int, Flow] | None:
        """A category by code, Chinese or English name, alias, or its number in the menu."""
        if not reference or not self.flows:  # no published flow yet: no category to find
            return None
        ref = normalize(reference)
        for vid, flow in self.flows:
            c = flow.category
            names = {c.code, normalize(c.name.zh), normalize(c.name.en), *(normalize(a) for a in c.aliases)}
            if ref in names or ref == flow.id:
                return vid, flow
        if len(self.flows) < 2:  # a menu needs two groups; one flow's names were compared above
            return None
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
    """Parsed flows by version id, and catalogs by organisation, for the process's life."""

    def __init__(self) -> None:
        self._by_version: dict[int, Flow] = {}
        self._paths: dict[int, str] = {}
        self._catalogs: dict[str, tuple[tuple[tuple[int, int | None], ...], Catalog]] = {}
        self._stamps: dict[str, int] = {}  # path → the flows' stamp its catalog was built at

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

    async def path_of(self, organisations: OrganisationRepository, organisation_id: int | None) -> str | None:
        if organisation_id is None:
            return None
        path = self._paths.get(organisation_id)
        if path is None:
            found = await organisations.get(organisation_id)
            if found is None:
                return None
            path = self._paths[organisation_id] = found.path
        return path

    async def catalog(
        self, repo: FlowRepository, organisation_id: int | None = None, *, stamp: int | None = None
    ) -> Catalog:
        """The catalog of an organisation's respondents (None: of people of no organisation,
        who take the shared flows). `stamp`: the newest flow version's id, read by the
        caller with other things (storage/repositories/turns.py); while it is the one the
        catalog was built at, nothing was published since and the catalog is used as is."""
        path = await self.path_of(OrganisationRepository(repo.session), organisation_id) or "/"
        cached = self._catalogs.get(path)
        if stamp is not None and cached is not None and self._stamps.get(path) == stamp:
            return cached[1]
        # One small query says which versions are latest; definitions load only when new.
        latest = tuple(await repo.latest_ids_by_owner())
        if stamp is not None:
            self._stamps[path] = stamp
        else:
            self._stamps.pop(path, None)
        if cached is not None and cached[0] == latest:
            return cached[1]
        # Depth of each organisation on the way down to this one: deeper wins.
        depth = {int(part): i for i, part in enumerate(path.strip("/").split("/")) if part}
        chosen: dict[str, tuple[int, int, Flow]] = {}  # category → (depth, version id, flow)
        for vid, owner in latest:
            if owner is not None and owner not in depth:
                continue  # another organisation's own flow
            flow = await self.load(repo, vid)
            if flow.kind != "survey":
                continue  # a followup flow is started by huifang, never chosen from the menu
            rank = -1 if owner is None else depth[owner]
            current = chosen.get(flow.category.code)
            if current is None or rank > current[0] or (rank == current[0] and vid > current[1]):
                chosen[flow.category.code] = (rank, vid, flow)
        items = sorted(
            ((vid, f) for _, vid, f in chosen.values()), key=lambda i: (i[1].category.order, i[1].category.code)
        )
        catalog = Catalog(tuple(items))
        self._catalogs[path] = (latest, catalog)
        return catalog


async def surveys_exist(db: Database, flows: FlowCache, reference: str, organisation_id: int | None = None) -> bool:
    """Whether `reference` names a category of the organisation's catalog."""
    async with db.transaction() as s:
        return (await flows.catalog(FlowRepository(s), organisation_id)).find(reference) is not None


async def category_names(
    db: Database, flows: FlowCache, organisation_id: int | None = None
) -> list[tuple[str, I18nText]]:
    """(code, name) of each category, in menu order."""
    async with db.transaction() as s:
        catalog = await flows.catalog(FlowRepository(s), organisation_id)
    return [(f.category.code, f.category.name) for _, f in catalog.flows]


async def category_labels(s: AsyncSession, flows: FlowCache) -> dict[str, I18nText]:
    """Category code → its name, for pages that show a stored code (a ticket's category)."""
    return {f.category.code: f.category.name for _, f in (await flows.catalog(FlowRepository(s))).flows}


@dataclass(frozen=True)
class CategoryWords:
    """How people name categories (code, Chinese or English name, alias: 人道救助, 受助者),
    read from flow versions' definitions."""

    codes: dict[str, str]  # normalized word → category code
    names: dict[str, str]  # category code → its Chinese name

    def code_of(self, word: str) -> str | None:
        return self.codes.get(normalize(word))


def category_words(versions: Iterable[FlowVersion]) -> CategoryWords:
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    for version in versions:
        category = version.definition.get("category") or {}
        code, name = category.get("code"), category.get("name") or {}
        if not isinstance(code, str):
            continue
        names.setdefault(code, str(name.get("zh") or code))
        for word in (code, name.get("zh"), name.get("en"), *(category.get("aliases") or [])):
            if isinstance(word, str) and normalize(word):
                codes.setdefault(normalize(word), code)
    return CategoryWords(codes, names)


async def category_by_name(s: AsyncSession, word: str) -> str | None:
    """The code of the category `word` names, among the published flows' newest versions."""
    return category_words(await FlowRepository(s).list_latest()).code_of(word)
