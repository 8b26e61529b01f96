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

/**
 * Counts bytes, and on TCP links acknowledges what the device sends at once by sending one byte
 * that is not a frame (0x00: receivers scan for the magic and drop it) per burst received.
 * Why: the posix firmware writes an event (APP_STATE) and then the response as two small
 * segments without TCP_NODELAY, and QEMU's UART socket sends the firmware's bytes as they
 * come, so the rest of an answer waits for the ACK of its first segment, which the host
 * delays by up to 40 ms unless it has data to send. The byte carries that ACK: START and
 * SNAPSHOT take ~1 ms instead of ~43 ms. Harmless once the devices set TCP_NODELAY.
 */
export function countingConnector(connector: Connector, count: WireCount): Connector {
  return async () => {
    const inner = await connector();
    const nudge = inner.url.startsWith("tcp://");
    let nudging = false;
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
          if (nudge && !nudging) {
            // One byte per turn of the event loop, written between frames (frames are
            // written whole, in one call, so a nudge never lands inside one).
            nudging = true;
            setImmediate(() => {
              nudging = false;
              if (inner.closed) return;
              count.sent += 1;
              inner.write(Uint8Array.of(0));
            });
          }
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
