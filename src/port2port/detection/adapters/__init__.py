"""Pure input adapters of the detection module: outside formats in, normalised `Event`s out.

One file per format; none does I/O or touches the database, and each raises only
`AdapterError` on bad input, so the ingest worker can send it to the dead-letter table and go on.
"""

from port2port.detection.adapters.events import AdapterError, Event, Kind, Source

__all__ = ["AdapterError", "Event", "Kind", "Source"]
