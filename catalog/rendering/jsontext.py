"""JSON text exactly as Prefect's server writes it: compact, raw UTF-8, no NaN."""

import json


def dumps(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
