"""Knowledge-base tests. Small knowledge bases built here (no data set, no network); the
fixtures that use them are in conftest.py."""

from __future__ import annotations

from inference.knowledge import FaqEntry

FAQ = [
    FaqEntry(
        "reset-password",
        "How do I reset my password?",
        "Choose 'Forgot password' on the sign-in page; we email you a reset link valid for 1 hour.",
        (
            "I forgot my password",
            "can't log in, lost my password",
            "send me a password reset link",
            "how to change a forgotten password",
            "my password doesn't work anymore",
        ),
    ),
    FaqEntry(
        "opening-hours",
        "What are your opening hours?",
        "Our support team is available 9:00-17:00, Monday to Friday.",
        (
            "when are you open",
            "what time do you open",
            "are you open on weekends",
            "what are your support hours",
            "is support open on Sunday",
        ),
    ),
    FaqEntry(
        "refund",
        "How do I get a refund?",
        "Refunds go back to the original payment method within 14 days of the return.",
        (
            "I want my money back",
            "how long does a refund take",
            "can I get a refund",
            "refund for a returned subscription",
            "where is my refund",
        ),
    ),
    FaqEntry(
        "delete-account",
        "How do I delete my account?",
        "Open Settings > Account > Delete account. Deletion is final after 30 days.",
        (
            "close my account",
            "I want to remove my profile",
            "how can I cancel my account permanently",
            "delete all my data",
            "deactivate account",
        ),
    ),
    FaqEntry(
        "pricing",
        "How much does the Pro plan cost?",
        "The Pro plan costs 12 EUR per user per month, billed yearly.",
        (
            "what is the price of pro",
            "how expensive is the pro plan",
            "pro plan pricing",
            "cost per user",
            "monthly fee for pro",
        ),
    ),
]

GUIDE = """# Installing the desktop app

Download the installer from the downloads page and run it. Installation takes about two minutes.

## Licence key

Open Settings and enter your licence key. The key is in the welcome email we sent when you subscribed.

## Proxy settings

Behind a corporate proxy, set the proxy address under Settings > Network before signing in.
"""
