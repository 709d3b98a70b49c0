import type { EventId, EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';

/**
 * The SDK's EventStore for one 2025-era HTTP session, in memory and bounded: the newest messages
 * sent on the session's SSE streams, at most `maxEvents` of them and `maxBytes` of their JSON, so a client whose stream dropped reconnects with
 * Last-Event-ID and gets what it missed (SEP-1699 resumability; the transport then also sends the
 * priming event and retry field). Older events fall off; a client that asks for one gets nothing
 * replayed. Dropped with the session.
 */
export class SessionEventStore implements EventStore {
  private readonly events: { id: EventId; stream: StreamId; message: JSONRPCMessage; bytes: number }[] = [];
  private next = 0;
  private bytes = 0;

  constructor(
    private readonly maxEvents = 500,
    private readonly maxBytes = 4 * 1024 * 1024,
  ) {}

  async storeEvent(stream: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const id = `${stream}_${++this.next}`;
    const bytes = JSON.stringify(message).length;
    this.events.push({ id, stream, message, bytes });
    this.bytes += bytes;
    while (this.events.length > this.maxEvents || (this.bytes > this.maxBytes && this.events.length > 1))
      this.bytes -= this.events.shift()!.bytes;
    return id;
  }

  async getStreamIdForEventId(id: EventId): Promise<StreamId | undefined> {
    return this.events.find((e) => e.id === id)?.stream;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (id: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const at = this.events.findIndex((e) => e.id === lastEventId);
    if (at === -1) return '';
    const stream = this.events[at]!.stream;
    for (const e of this.events.slice(at + 1)) if (e.stream === stream) await send(e.id, e.message);
    return stream;
  }
}
