"""One line as the reader validates it: types and ranges checked by msgspec in C.

Value ranges are part of validation: a line outside them is left out and counted by field
(ReadSummary.out_of_range), not read as a wrong number or a crash (an id >= 2**63 does not
fit the int64 columns).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
import orjson

from recctl.eventlog.summary import ReadSummary

_Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
_Seconds = Annotated[float, msgspec.Meta(ge=0.0)]
_OUT_OF_RANGE = re.compile(r"(?:<=|>=|out of range).* - at `\$\.(\w+)`")


class Event(msgspec.Struct, gc=False):
    """One line as msgspec validates it in C; unknown extras are skipped unparsed.

    `experiments` stays raw bytes so that the object (the same few values on every line)
    is decoded once per distinct value, not once per line. gc=False: it holds only
    scalars, so the cyclic collector need not track (and rescan) a million of them.
    """

    message: Literal["next", "last"]
    timestamp: _Int64
    user: _Int64
    track: _Int64
    time: _Fraction
    latency: _Seconds
    recommendation: _Int64 | None
    experiments: msgspec.Raw = msgspec.Raw(b"{}")
    timestamp_us: _Int64 = -1
    session: str | int | None = None
    replica: str | int | None = None
    request_id: str | None = None


decode_line = msgspec.json.Decoder(Event).decode
decode_chunk = msgspec.json.Decoder(list[Event]).decode
NO_ID = hash(None)  # the hash a line without a request id gets


def reject(summary: ReadSummary, where: str, exc: Exception) -> None:
    """Count a line that was not read: out of range (by field) or malformed."""
    match = _OUT_OF_RANGE.search(str(exc)) if isinstance(exc, msgspec.ValidationError) else None
    if match:
        summary.exclude(match.group(1))
    else:
        summary.skip(where, exc)


def check(event: Event) -> None:
    # msgspec keeps `experiments` raw: check its shape here.
    check_experiments(orjson.loads(bytes(event.experiments)))


def check_experiments(value: Any) -> None:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError("'experiments' is not an object of arm names")


def parse_line(line: bytes, where: str, summary: ReadSummary) -> Event | None:
    """One line validated, or None (counted in `summary`) when it is not read."""
    try:
        event = decode_line(line)
        check(event)
    except (msgspec.DecodeError, ValueError) as exc:
        reject(summary, where, exc)
        return None
    return event
