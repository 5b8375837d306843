"""The worker loop over the in-process transport, with a handler that records its calls."""

from __future__ import annotations

from augur.streaming import InProcessTransport, Message, StreamWorker
from augur.streaming.transport import position_order


class RecordingHandler:
    """Applies messages to a list; durable only every ``every`` batches."""

    def __init__(self, durable: str | None = None, every: int = 2) -> None:
        self.durable, self.every = durable, every
        self.applied: list[int] = []
        self.batches = 0
        self.last: str | None = durable

    async def start(self) -> str | None:
        return self.durable

    async def handle(self, messages: list[Message]) -> str | None:
        self.applied.extend(int(m.event["i"]) for m in messages)
        self.last = messages[-1].position
        self.batches += 1
        if self.batches % self.every == 0:
            self.durable = self.last
            return self.durable
        return None

    async def flush(self) -> str | None:
        self.durable = self.last
        return self.durable


async def test_commits_only_what_the_handler_made_durable() -> None:
    transport = InProcessTransport()
    transport.publish_sync([{"i": i} for i in range(10)])
    handler = RecordingHandler(every=100)
    worker = StreamWorker(transport, handler, group="g", batch_size=3)
    stats = await worker.run(max_messages=7)
    assert handler.applied == list(range(7))
    assert stats.committed == "7" and transport.committed["g"] == 7  # the final flush


async def test_resumes_after_the_durable_position() -> None:
    transport = InProcessTransport()
    transport.publish_sync([{"i": i} for i in range(10)])
    handler = RecordingHandler(durable="4")
    stats = await StreamWorker(transport, handler, group="g", batch_size=4).run(idle_exit=0.05)
    assert handler.applied == [4, 5, 6, 7, 8, 9]
    assert stats.messages == 6 and stats.committed == "10"


def test_positions_sort_in_stream_order() -> None:
    assert position_order("1700-2") < position_order("1700-10") < position_order("1701-0")
    assert position_order("9") < position_order("10")
