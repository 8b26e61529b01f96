// Transports that tests put between a client and a device to watch, change, drop or delay
// what goes over the link: everything not overridden goes straight to the real transport.
import type { Transport } from "../../compiler/src/transport/transport.js";

/** What a wrapper replaces; url and bytesPerSecond are fixed values (the inner url by default). */
export type TransportOverrides = Partial<Pick<Transport, "write" | "onData" | "onClose" | "close">> & {
  url?: string;
  bytesPerSecond?: number;
};

/**
 * `inner` with the given parts replaced; `closed` always reports the inner transport's state.
 * bytesPerSecond is only the override's: a wrapper that delays writes says its own line speed.
 */
export function wrapTransport(inner: Transport, overrides: TransportOverrides): Transport {
  return {
    get url() {
      return overrides.url ?? inner.url;
    },
    get closed() {
      return inner.closed;
    },
    get bytesPerSecond() {
      return overrides.bytesPerSecond;
    },
    write: overrides.write ?? ((data) => inner.write(data)),
    onData: overrides.onData ?? ((listener) => inner.onData(listener)),
    onClose: overrides.onClose ?? ((listener) => inner.onClose(listener)),
    close: overrides.close ?? (() => inner.close()),
  };
}
