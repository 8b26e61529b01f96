/**
 * On TCP links, acknowledges what the device sends at once, by sending one byte that is not a
 * frame (0x00: receivers scan for the magic and drop it) per burst received.
 *
 * Why: the posix firmware writes an event (APP_STATE) and then the response as two small
 * segments without TCP_NODELAY, and QEMU's UART socket sends the firmware's bytes as they come,
 * so the rest of an answer waits for the ACK of its first segment, which the host delays by up
 * to 40 ms unless it has data to send. The byte carries that ACK: START and SNAPSHOT take ~1 ms
 * instead of ~43 ms, which is most of a migration's downtime. Unneeded (and harmless) once the
 * devices set TCP_NODELAY; serial links are left alone.
 */
import type { Connector, Transport } from "../transport/transport.js";

export function promptAckConnector(connector: Connector): Connector {
  return async () => {
    const inner = await connector();
    if (!inner.url.startsWith("tcp://")) return inner;
    let pending = false;
    const acking: Transport = {
      get url() {
        return inner.url;
      },
      get closed() {
        return inner.closed;
      },
      get bytesPerSecond() {
        return inner.bytesPerSecond;
      },
      write: (data) => inner.write(data),
      onData(listener) {
        inner.onData((data) => {
          if (!pending) {
            // One byte per turn of the event loop, written between frames: the client writes
            // each frame whole, in one call, so this byte never lands inside one.
            pending = true;
            setImmediate(() => {
              pending = false;
              if (!inner.closed) inner.write(Uint8Array.of(0));
            });
          }
          listener(data);
        });
      },
      onClose: (listener) => inner.onClose(listener),
      close: () => inner.close(),
    };
    return acking;
  };
}
