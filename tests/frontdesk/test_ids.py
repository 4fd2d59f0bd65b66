import pytest

from frontdesk import ids

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def own_clock(monkeypatch):
    monkeypatch.setattr(ids, "_last", (0, 0))  # tests below move the clock; keep it out of other tests


def test_ids_made_in_one_millisecond_still_increase():
    made = [ids.new_id("message", now_ms=1_700_000_000_000) for _ in range(1000)]
    assert made == sorted(made) and len(set(made)) == 1000
    assert all(ids.is_id(i, "message") for i in made)


def test_an_id_made_after_another_sorts_after_it_even_with_an_earlier_clock():
    question = ids.new_id("message", now_ms=2_000_000_000_000)
    reply = ids.new_id("message", now_ms=1_000_000_000_000, after=question)
    assert reply > question and ids.id_time_ms(reply) == 2_000_000_000_000


def test_id_validation():
    good = ids.new_id("conversation")
    assert ids.is_id(good, "conversation")
    assert not ids.is_id(good, "message")
    for bad in ("", "c_", "c_123", "c_" + "u" * 26, "../etc/passwd", good + "x"):
        assert not ids.is_id(bad, "conversation"), bad
