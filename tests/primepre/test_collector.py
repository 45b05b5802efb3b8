"""The serving processes put their start-up objects out of the collector's reach."""

import gc

import pytest

from primepre.collector import freeze_start_up_objects


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_start_up_objects_are_frozen(unfrozen, monkeypatch):
    # given a process whose objects the collector walks
    monkeypatch.delenv("GC_FREEZE", raising=False)

    # when it has started
    freeze_start_up_objects()

    # then its objects (this module among them) are no longer walked
    assert gc.get_freeze_count() > 10_000


def test_gc_freeze_0_leaves_the_collector_as_it_is(unfrozen, monkeypatch):
    # given
    monkeypatch.setenv("GC_FREEZE", "0")

    # when
    freeze_start_up_objects()

    # then
    assert gc.get_freeze_count() == 0
