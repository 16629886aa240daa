"""The contract every ChatKit `Store` in this app must keep, exercised only through ChatKit's async interface.

`StoreContract` is abstract: a test module subclasses it (with a name starting with `Test`) and implements
`make_store`, which gives a fresh, empty store for each test. The contract is what the ChatKit server relies on:

- a saved thread loads back with its title, status and metadata, and saving it again updates it;
- threads are listed oldest or newest first, a page at a time (`limit`, `after`, `has_more`);
- items keep the order they were added in, and page forwards and backwards the same way;
- `add_thread_item` and `save_item` insert or replace by id (an upsert that keeps the item's place);
- `load_item` finds one item; deleting an item removes only that item;
- deleting a thread removes it and its items;
- a thread or item that is not there is a `NotFoundError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chatkit.store import NotFoundError, Store
from chatkit.types import (
    ActiveStatus,
    AssistantMessageContent,
    AssistantMessageItem,
    ClosedStatus,
    InferenceOptions,
    LockedStatus,
    ThreadItem,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)

CONTEXT: dict[str, Any] = {}
T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def make_thread(thread_id: str, *, minutes: int = 0, title: str | None = "A thread", **fields: Any) -> ThreadMetadata:
    """A thread created `minutes` after T0."""
    return ThreadMetadata(
        id=thread_id,
        title=title,
        created_at=T0 + timedelta(minutes=minutes),
        metadata=fields.pop("metadata", {}),
        **fields,
    )


def user_message(thread_id: str, item_id: str, text: str, *, seconds: int = 0) -> UserMessageItem:
    return UserMessageItem(
        id=item_id,
        thread_id=thread_id,
        created_at=T0 + timedelta(seconds=seconds),
        content=[UserMessageTextContent(text=text)],
        attachments=[],
        inference_options=InferenceOptions(model="openai/gpt-5-mini"),
    )


def answer(thread_id: str, item_id: str, text: str, *, seconds: int = 0) -> AssistantMessageItem:
    return AssistantMessageItem(
        id=item_id,
        thread_id=thread_id,
        created_at=T0 + timedelta(seconds=seconds),
        content=[AssistantMessageContent(text=text, annotations=[])],
    )


def ids(page_data: list[Any]) -> list[str]:
    return [entry.id for entry in page_data]


@pytest.mark.anyio
class StoreContract(ABC):
    """Tests every `Store` must pass. Subclasses implement `make_store`."""

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    @abstractmethod
    def make_store(self, folder: Path) -> Store[Any]:
        """A fresh, empty store keeping its data under `folder` (an empty temporary folder), ready for use."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Store[Any]:
        return self.make_store(tmp_path)

    async def conversation(self, store: Store[Any], thread_id: str = "thr_conversation", turns: int = 3) -> list[str]:
        """A saved thread with `turns` exchanges; returns the item ids in the order they were added."""
        await store.save_thread(make_thread(thread_id), CONTEXT)
        added: list[str] = []
        for n in range(turns):
            for item in (
                user_message(thread_id, f"msg_q{n}", f"Question {n}", seconds=2 * n),
                answer(thread_id, f"msg_a{n}", f"Answer {n}", seconds=2 * n + 1),
            ):
                await store.add_thread_item(thread_id, item, CONTEXT)
                added.append(item.id)
        return added

    async def all_items(self, store: Store[Any], thread_id: str, order: str = "asc") -> list[ThreadItem]:
        return (await store.load_thread_items(thread_id, None, 1000, order, CONTEXT)).data

    # ---- threads ---------------------------------------------------------------------------------

    async def test_a_saved_thread_loads_back_with_its_title_status_and_metadata(self, store: Store[Any]) -> None:
        thread = make_thread("thr_saved", title="Trip ideas", metadata={"feedback": {"msg_1": "positive"}})
        await store.save_thread(thread, CONTEXT)
        loaded = await store.load_thread("thr_saved", CONTEXT)
        assert loaded == thread

    async def test_a_thread_without_a_title_loads_back_without_one(self, store: Store[Any]) -> None:
        await store.save_thread(make_thread("thr_untitled", title=None), CONTEXT)
        assert (await store.load_thread("thr_untitled", CONTEXT)).title is None

    @pytest.mark.parametrize(
        "status",
        [ActiveStatus(), LockedStatus(reason="Read only for now."), ClosedStatus(reason="Archived.")],
        ids=["active", "locked", "closed"],
    )
    async def test_a_threads_status_round_trips(self, store: Store[Any], status: Any) -> None:
        await store.save_thread(make_thread("thr_status", status=status), CONTEXT)
        assert (await store.load_thread("thr_status", CONTEXT)).status == status

    async def test_metadata_of_any_json_shape_round_trips(self, store: Store[Any]) -> None:
        metadata = {
            "feedback": {"msg_a0": "negative"},
            "note": "Ünïcödé — “quotes”, emoji 🐦, newline\nand tab\t",
            "numbers": [0, -1, 2.5, 10**12],
            "flags": {"pinned": True, "archived": False, "colour": None},
            "nested": {"deeper": {"deepest": ["a", {"b": []}]}},
        }
        await store.save_thread(make_thread("thr_meta", metadata=metadata), CONTEXT)
        assert (await store.load_thread("thr_meta", CONTEXT)).metadata == metadata

    async def test_saving_a_thread_again_updates_it_and_keeps_its_items(self, store: Store[Any]) -> None:
        added = await self.conversation(store, "thr_renamed")
        thread = await store.load_thread("thr_renamed", CONTEXT)
        thread.title = "Renamed"
        thread.metadata = {"feedback": {"msg_a0": "positive"}}
        await store.save_thread(thread, CONTEXT)
        loaded = await store.load_thread("thr_renamed", CONTEXT)
        assert loaded.title == "Renamed"
        assert loaded.metadata == {"feedback": {"msg_a0": "positive"}}
        assert ids(await self.all_items(store, "thr_renamed")) == added
        listed = (await store.load_threads(10, None, "desc", CONTEXT)).data
        assert [(t.id, t.title) for t in listed] == [("thr_renamed", "Renamed")], "saved once, listed once"

    async def test_a_missing_thread_is_not_found(self, store: Store[Any]) -> None:
        with pytest.raises(NotFoundError):
            await store.load_thread("thr_never_saved", CONTEXT)
        with pytest.raises(NotFoundError):
            await store.load_thread_items("thr_never_saved", None, 10, "asc", CONTEXT)

    async def test_an_empty_store_lists_no_threads(self, store: Store[Any]) -> None:
        page = await store.load_threads(10, None, "desc", CONTEXT)
        assert (page.data, page.has_more) == ([], False)
        assert not page.after

    async def test_threads_are_listed_newest_first_a_page_at_a_time(self, store: Store[Any]) -> None:
        for n in range(5):
            await store.save_thread(make_thread(f"thr_{n}", minutes=n), CONTEXT)
        first = await store.load_threads(2, None, "desc", CONTEXT)
        assert ids(first.data) == ["thr_4", "thr_3"]
        assert first.has_more is True and first.after == "thr_3"
        second = await store.load_threads(2, first.after, "desc", CONTEXT)
        assert ids(second.data) == ["thr_2", "thr_1"]
        assert second.has_more is True and second.after == "thr_1"
        last = await store.load_threads(2, second.after, "desc", CONTEXT)
        assert ids(last.data) == ["thr_0"]
        assert last.has_more is False and not last.after

    async def test_threads_are_listed_oldest_first_a_page_at_a_time(self, store: Store[Any]) -> None:
        for n in (3, 0, 4, 1, 2):  # saved in any order, listed by creation time
            await store.save_thread(make_thread(f"thr_{n}", minutes=n), CONTEXT)
        first = await store.load_threads(3, None, "asc", CONTEXT)
        assert ids(first.data) == ["thr_0", "thr_1", "thr_2"]
        assert first.has_more is True and first.after == "thr_2"
        rest = await store.load_threads(3, first.after, "asc", CONTEXT)
        assert ids(rest.data) == ["thr_3", "thr_4"]
        assert rest.has_more is False and not rest.after

    async def test_a_page_that_ends_exactly_at_the_last_thread_has_no_more(self, store: Store[Any]) -> None:
        for n in range(4):
            await store.save_thread(make_thread(f"thr_{n}", minutes=n), CONTEXT)
        page = await store.load_threads(4, None, "desc", CONTEXT)
        assert len(page.data) == 4
        assert page.has_more is False and not page.after

    async def test_listed_threads_carry_their_title_and_metadata(self, store: Store[Any]) -> None:
        thread = make_thread("thr_listed", title="Lisbon", metadata={"feedback": {"msg_a0": "positive"}})
        await store.save_thread(thread, CONTEXT)
        assert (await store.load_threads(10, None, "asc", CONTEXT)).data == [thread]

    async def test_deleting_a_thread_removes_it_and_its_items(self, store: Store[Any]) -> None:
        await self.conversation(store, "thr_doomed")
        kept = await self.conversation(store, "thr_kept")
        await store.delete_thread("thr_doomed", CONTEXT)
        with pytest.raises(NotFoundError):
            await store.load_thread("thr_doomed", CONTEXT)
        with pytest.raises(NotFoundError):
            await store.load_thread_items("thr_doomed", None, 10, "asc", CONTEXT)
        with pytest.raises(NotFoundError):
            await store.load_item("thr_doomed", "msg_q0", CONTEXT)
        assert ids((await store.load_threads(10, None, "desc", CONTEXT)).data) == ["thr_kept"]
        assert ids(await self.all_items(store, "thr_kept")) == kept, "the other thread is untouched"

    async def test_a_deleted_thread_can_be_created_again_empty(self, store: Store[Any]) -> None:
        await self.conversation(store, "thr_again")
        await store.delete_thread("thr_again", CONTEXT)
        await store.save_thread(make_thread("thr_again", title="Fresh"), CONTEXT)
        assert (await store.load_thread("thr_again", CONTEXT)).title == "Fresh"
        assert await self.all_items(store, "thr_again") == []

    # ---- items -----------------------------------------------------------------------------------

    async def test_a_new_thread_has_no_items(self, store: Store[Any]) -> None:
        await store.save_thread(make_thread("thr_empty"), CONTEXT)
        page = await store.load_thread_items("thr_empty", None, 10, "asc", CONTEXT)
        assert (page.data, page.has_more) == ([], False)

    async def test_items_load_back_equal_and_in_the_order_they_were_added(self, store: Store[Any]) -> None:
        await store.save_thread(make_thread("thr_items"), CONTEXT)
        items: list[ThreadItem] = [
            user_message("thr_items", "msg_1", "Ünïcödé 🐦 “quoted”\nsecond line", seconds=1),
            answer("thr_items", "msg_2", "**Markdown** and `code`", seconds=2),
            user_message("thr_items", "msg_3", "", seconds=3),
        ]
        for item in items:
            await store.add_thread_item("thr_items", item, CONTEXT)
        assert await self.all_items(store, "thr_items") == items
        assert await self.all_items(store, "thr_items", "desc") == items[::-1]

    async def test_items_page_forwards_oldest_first(self, store: Store[Any]) -> None:
        added = await self.conversation(store, turns=3)
        first = await store.load_thread_items("thr_conversation", None, 4, "asc", CONTEXT)
        assert ids(first.data) == added[:4]
        assert first.has_more is True and first.after == added[3]
        rest = await store.load_thread_items("thr_conversation", first.after, 4, "asc", CONTEXT)
        assert ids(rest.data) == added[4:]
        assert rest.has_more is False and not rest.after

    async def test_items_page_backwards_newest_first(self, store: Store[Any]) -> None:
        added = await self.conversation(store, turns=3)
        newest = added[::-1]
        first = await store.load_thread_items("thr_conversation", None, 2, "desc", CONTEXT)
        assert ids(first.data) == newest[:2]
        assert first.has_more is True and first.after == newest[1]
        second = await store.load_thread_items("thr_conversation", first.after, 2, "desc", CONTEXT)
        assert ids(second.data) == newest[2:4]
        third = await store.load_thread_items("thr_conversation", second.after, 2, "desc", CONTEXT)
        assert ids(third.data) == newest[4:]
        assert third.has_more is False and not third.after

    async def test_save_item_replaces_an_item_in_place(self, store: Store[Any]) -> None:
        added = await self.conversation(store, turns=2)
        streamed = answer("thr_conversation", "msg_a0", "Answer 0, now complete with more text", seconds=1)
        await store.save_item("thr_conversation", streamed, CONTEXT)
        assert ids(await self.all_items(store, "thr_conversation")) == added, "same items, same places"
        assert await store.load_item("thr_conversation", "msg_a0", CONTEXT) == streamed

    async def test_adding_an_item_with_an_id_already_there_replaces_it(self, store: Store[Any]) -> None:
        added = await self.conversation(store, turns=2)
        edited = user_message("thr_conversation", "msg_q1", "Question 1, edited", seconds=2)
        await store.add_thread_item("thr_conversation", edited, CONTEXT)
        items = await self.all_items(store, "thr_conversation")
        assert ids(items) == added
        assert items[2] == edited

    async def test_save_item_adds_an_item_that_is_not_there_yet(self, store: Store[Any]) -> None:
        added = await self.conversation(store, turns=1)
        late = answer("thr_conversation", "msg_late", "Saved without being added first", seconds=9)
        await store.save_item("thr_conversation", late, CONTEXT)
        assert ids(await self.all_items(store, "thr_conversation")) == [*added, "msg_late"]

    async def test_load_item_finds_one_item(self, store: Store[Any]) -> None:
        await self.conversation(store, turns=2)
        item = await store.load_item("thr_conversation", "msg_a1", CONTEXT)
        assert isinstance(item, AssistantMessageItem)
        assert item.content[0].text == "Answer 1"

    async def test_a_missing_item_is_not_found(self, store: Store[Any]) -> None:
        await self.conversation(store, turns=1)
        with pytest.raises(NotFoundError):
            await store.load_item("thr_conversation", "msg_never_added", CONTEXT)

    async def test_items_of_one_thread_are_not_in_another(self, store: Store[Any]) -> None:
        first = await self.conversation(store, "thr_first", turns=1)
        await store.save_thread(make_thread("thr_second"), CONTEXT)
        await store.add_thread_item("thr_second", user_message("thr_second", "msg_other", "Other"), CONTEXT)
        assert ids(await self.all_items(store, "thr_first")) == first
        assert ids(await self.all_items(store, "thr_second")) == ["msg_other"]
        with pytest.raises(NotFoundError):
            await store.load_item("thr_second", "msg_q0", CONTEXT)

    async def test_deleting_an_item_removes_only_that_item(self, store: Store[Any]) -> None:
        added = await self.conversation(store, turns=2)
        await store.delete_thread_item("thr_conversation", "msg_a0", CONTEXT)
        assert ids(await self.all_items(store, "thr_conversation")) == [i for i in added if i != "msg_a0"]
        with pytest.raises(NotFoundError):
            await store.load_item("thr_conversation", "msg_a0", CONTEXT)
        assert (await store.load_thread("thr_conversation", CONTEXT)).title == "A thread"

    # ---- ids -------------------------------------------------------------------------------------

    async def test_generated_ids_have_chatkits_prefixes_and_do_not_repeat(self, store: Store[Any]) -> None:
        thread = make_thread("thr_ids")
        thread_ids = {store.generate_thread_id(CONTEXT) for _ in range(500)}
        item_ids = {store.generate_item_id("message", thread, CONTEXT) for _ in range(500)}
        assert len(thread_ids) == 500 and all(i.startswith("thr_") for i in thread_ids)
        assert len(item_ids) == 500 and all(i.startswith("msg_") for i in item_ids)
        assert store.generate_item_id("tool_call", thread, CONTEXT).startswith("tc_")
