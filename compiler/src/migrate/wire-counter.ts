/**
 * Counts the bytes a connector's streams carry in each direction, frames and checksums
 * included: what a migration really puts on the link, for the report and the benchmark.
 */
import type { Connector, Transport } from "../transport/transport.js";

export interface WireCount {
  /** Host to device. */
  sent: number;
  /** Device to host (answers and events). */
  received: number;
}

export function countingConnector(connector: Connector, count: WireCount): Connector {
  return async () => {
    const inner = await connector();
    const counted: Transport = {
      get url() {
        return inner.url;
      },
      get closed() {
        return inner.closed;
      },
      get bytesPerSecond() {
        return inner.bytesPerSecond;
      },
      write(data) {
        count.sent += data.length;
        inner.write(data);
      },
      onData(listener) {
        inner.onData((data) => {
          count.received += data.length;
          listener(data);
        });
      },
      onClose(listener) {
        inner.onClose(listener);
      },
      close() {
        return inner.close();
      },
    };
    return counted;
  };
}
