"""The deployment's price table: what a million tokens cost per backend and model.

FRONTDESK_MODEL_PRICES is JSON: {"<backend>/<model>": [input_usd_per_1M, output_usd_per_1M]},
with "<backend>/*" for every model of a backend, e.g.

    {"openai/gpt-4o-mini": [0.15, 0.60], "anthropic/*": [3, 15]}

Empty (the default) means self-hosted: every backend costs 0 and is reported as
unpriced, not as free. The table is read once, at start; a malformed one stops the
service with a message naming the entry at fault.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

SETTING = "FRONTDESK_MODEL_PRICES"


@dataclass(frozen=True)
class Price:
    input_per_1m: float
    output_per_1m: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_1m + completion_tokens * self.output_per_1m) / 1_000_000


class PriceTable:
    def __init__(self, prices: dict[str, Price] | None = None):
        self.prices = dict(prices or {})

    def __bool__(self) -> bool:
        return bool(self.prices)

    def find(self, backend: str, model: str) -> Price | None:
        """The exact backend/model entry, else backend/*, else None (unpriced)."""
        return self.prices.get(f"{backend}/{model}") or self.prices.get(f"{backend}/*")


def parse_prices(text: str) -> PriceTable:
    """The table from the setting's JSON; ValueError saying what is wrong."""
    if not text.strip():
        return PriceTable()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{SETTING} is not valid JSON ({err.msg} at character {err.pos})") from None
    if not isinstance(data, dict):
        raise ValueError(f'{SETTING} must be a JSON object like {{"openai/gpt-4o-mini": [0.15, 0.6]}}')
    prices = {}
    for key, value in data.items():
        backend, slash, model = key.partition("/")
        if not slash or not backend or not model:
            raise ValueError(f'{SETTING}: key {key!r} must be "<backend>/<model>" (or "<backend>/*")')
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        ):
            raise ValueError(
                f"{SETTING}: {key!r} must map to [input_usd_per_1M_tokens, output_usd_per_1M_tokens], "
                f"got {json.dumps(value)[:80]}"
            )
        if not all(math.isfinite(v) and v >= 0 for v in value):
            raise ValueError(f"{SETTING}: {key!r} prices must be finite and not negative, got {value}")
        prices[key] = Price(float(value[0]), float(value[1]))
    return PriceTable(prices)
