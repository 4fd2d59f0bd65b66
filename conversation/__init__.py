"""The conversation service: conversations, messages, history, handoff state and
feedback; stores before it queues AI jobs; relays live events to watchers."""
