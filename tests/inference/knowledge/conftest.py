"""Fixtures of the knowledge-base tests (the data lives in tests/inference/knowledge/__init__.py)."""

import pytest

from inference.knowledge import AnswerPolicy, KnowledgeBase  # noqa: F401
from tests.inference.knowledge import FAQ, GUIDE  # noqa: F401


@pytest.fixture
def kb(tmp_path):
    base = KnowledgeBase.open(tmp_path / "tenant")
    base.upsert_faq(FAQ)
    yield base
    base.close()


@pytest.fixture
def kb_with_guide(kb):
    kb.upsert_document("desktop-guide", "Desktop app guide", GUIDE, url="https://example.test/guide")
    return kb


@pytest.fixture
def policy(kb_with_guide):
    p = AnswerPolicy(kb_with_guide)
    p.prepare()
    return p
