import pytest

from inference.knowledge import asks_for_person

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "text",
    [
        "I want to talk to a human",
        "can I speak with a real person please",
        "connect me to an agent",
        "agent",
        "Operator!",
        "get me a human",
        "you're useless, let me chat with somebody",
        "I need to contact customer service",
        "transfer me to a representative",
        "is there a live agent?",
        "I'd like to speak to your manager",
    ],
)
def test_requests_for_a_person(text):
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "How do I reset my password?",
        "Do I need to talk to someone to close my account?",
        "I made a transfer to someone and it has not arrived",
        "someone used my card without permission",
        "what are your opening hours",
        "the agent fee on my statement looks wrong",
        "",
    ],
)
def test_not_requests(text):
    assert not asks_for_person(text)
