import { BodyError, BodyReader, BodyWriter, decodeText } from "./body.js";
import { Cmd, Event, FLAG_EVENT, FLAG_RESPONSE, MAX_PAYLOAD, PROTOCOL_VERSION, Status, commandName } from "./constants.js";
import { DeviceError, DeviceTimeoutError, ProtocolError } from "./errors.js";
import { FrameParser, encodeFrame, type Frame } from "./frame.js";
import { sha256, toHex } from "./sha256.js";
import type { AppEntry, AppStateEvent, CapabilityDocument, DeviceEvent, HelloInfo, LogRecord } from "./types.js";
import { TransportError, type Connector, type Transport } from "../transport/transport.js";

export interface ClientOptions {
  /** How long to wait for each response before resending the request (same seq). */
  timeoutMs?: number;
  /** How many times a request is resent after a timeout before giving up. */
  retries?: number;
  /** How long to keep trying to reopen a dropped stream (a board resetting, a flaky link). */
  reconnectWindowMs?: number;
  /**
   * How long a client that only listens (logs --follow) waits before reopening a dropped
   * stream [1000 ms]. A firmware device serves one host at a time and drops the old connection
   * when another host connects: reopening at once would take the device back from a deploy
   * started in another terminal, and the two would take turns. The device keeps its log ring,
   * so the follower catches up on what it missed.
   */
  followerReconnectDelayMs?: number;
}

export interface PutOptions {
  start?: boolean;
  autostart?: boolean;
  /** Bytes of module data per PUT_CHUNK; defaults to what the device's max payload allows. */
  chunkSize?: number;
  onProgress?: (progress: PutProgress) => void;
  /** Runs after the last chunk, before PUT_END (e.g. stop the old version as late as possible). */
  beforeEnd?: () => Promise<void>;
}

export interface PutProgress {
  /** Bytes the device holds. */
  offset: number;
  total: number;
  /** Where this upload started: more than 0 when the device already held part of it. */
  resumedFrom: number;
  reconnects: number;
}

export interface PutResult {
  name: string;
  size: number;
  sha256: string;
  resumedFrom: number;
  /** Module bytes actually sent over the link (less than size when resumed). */
  bytesSent: number;
  reconnects: number;
}

/** The stream dropped while a request was outstanding and the caller asked not to resend. */
class ConnectionLost extends Error {}

interface Waiter {
  command: number;
  seq: number;
  settle(outcome: Frame | "closed"): void;
}

const PUT_CHUNK_OVERHEAD = 32 + 4; // sha256 + offset before the data

/**
 * A client of the device protocol (docs/protocol.md). One request is in flight at a time (the
 * device remembers only the last one for replays); requests queue up. A lost response is
 * retried with the same seq so the device replays its answer instead of executing twice; a
 * dropped stream is reopened through the connector and the request resent.
 */
export class DeviceClient {
  private transport: Transport | undefined;
  private parser = new FrameParser();
  /** Starts at a random point so two CLI runs in a row do not reuse each other's seqs. */
  private seq = Math.floor(Math.random() * 0xfffe) + 1;
  private waiter: Waiter | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private listeners = new Set<(event: DeviceEvent) => void>();
  private fetchListeners = new Set<(name: string, range: string) => void>();
  /** FETCH events that came before anyone listened (a device sends them right after HELLO). */
  private unheardFetches: [name: string, range: string][] = [];
  private reconnectListeners = new Set<(error?: Error) => void>();
  private reconnecting: Promise<void> | undefined;
  private closing = false;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly reconnectWindowMs: number;
  private readonly followerReconnectDelayMs: number;
  /** Set by hello(). */
  helloInfo: HelloInfo | undefined;
  /** Counts streams opened after the first. */
  reconnects = 0;

  constructor(
    private readonly connector: Connector,
    options: ClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 1500;
    this.retries = options.retries ?? 3;
    this.reconnectWindowMs = options.reconnectWindowMs ?? 5000;
    this.followerReconnectDelayMs = options.followerReconnectDelayMs ?? 1000;
  }

  /** Opens the stream and says HELLO. */
  static async open(connector: Connector, options: ClientOptions = {}): Promise<DeviceClient> {
    const client = new DeviceClient(connector, options);
    await client.attach(await connector());
    try {
      await client.hello();
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  get url(): string {
    return this.transport?.url ?? "(not connected)";
  }

  get maxPayload(): number {
    return Math.min(this.helloInfo?.maxPayload ?? MAX_PAYLOAD, MAX_PAYLOAD);
  }

  /** Listens to LOG and APP_STATE events; returns a function that stops listening. */
  onEvent(listener: (event: DeviceEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Listens to FETCH events: the device asks for library NAME@RANGE (docs/protocol.md). */
  onFetch(listener: (name: string, range: string) => void): () => void {
    this.fetchListeners.add(listener);
    const unheard = this.unheardFetches;
    this.unheardFetches = [];
    for (const [name, range] of unheard) listener(name, range);
    return () => this.fetchListeners.delete(listener);
  }

  /**
   * Called after the stream was reopened (device-side subscriptions such as log follow are
   * gone), or with the error when it could not be. While someone listens, a dropped stream is
   * reopened right away instead of at the next request.
   */
  onReconnect(listener: (error?: Error) => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    const t = this.transport;
    this.transport = undefined;
    if (t && !t.closed) await t.close();
  }

  // ---- commands ----

  async hello(): Promise<HelloInfo> {
    const r = new BodyReader(await this.request(Cmd.HELLO, Uint8Array.of(PROTOCOL_VERSION)));
    const info = this.decode(Cmd.HELLO, () => ({
      protocol: r.u8(),
      maxPayload: r.u16(),
      firmware: r.str8(),
      firmwareVersion: r.str8(),
      deviceId: r.str8(),
    }));
    if (info.protocol !== PROTOCOL_VERSION) {
      throw new ProtocolError(`device speaks protocol version ${info.protocol}; this liquid speaks ${PROTOCOL_VERSION}: update the firmware or the CLI`);
    }
    this.helloInfo = info;
    return info;
  }

  async info(): Promise<CapabilityDocument> {
    return this.json<CapabilityDocument>(Cmd.INFO, await this.request(Cmd.INFO, new Uint8Array(0)));
  }

  async list(): Promise<AppEntry[]> {
    return this.json<AppEntry[]>(Cmd.LIST, await this.request(Cmd.LIST, new Uint8Array(0)));
  }

  async start(name: string): Promise<void> {
    await this.request(Cmd.START, new BodyWriter().str8(name).done());
  }

  async stop(name: string): Promise<void> {
    await this.request(Cmd.STOP, new BodyWriter().str8(name).done());
  }

  async remove(name: string): Promise<void> {
    await this.request(Cmd.REMOVE, new BodyWriter().str8(name).done());
  }

  async autostart(name: string, on: boolean): Promise<void> {
    await this.request(Cmd.AUTOSTART, new BodyWriter().str8(name).u8(on ? 1 : 0).done());
  }

  /** Asks the device to reboot its runtime (mode 0) or erase its store and reboot (mode 1). */
  async reset(factory = false): Promise<void> {
    await this.request(Cmd.RESET, Uint8Array.of(factory ? 1 : 0));
  }

  /** Log records from `from` on (0 = the oldest the device kept). */
  async logs(from = 0, follow = false): Promise<LogRecord[]> {
    const body = new BodyWriter().u32(from).u8(follow ? 1 : 0).done();
    return this.json<LogRecord[]>(Cmd.LOGS, await this.request(Cmd.LOGS, body));
  }

  /** Every record from `from` on, paging through LOGS until the device has no more. */
  async allLogs(from = 0): Promise<LogRecord[]> {
    const all: LogRecord[] = [];
    let next = from;
    for (;;) {
      const batch = await this.logs(next, false);
      const fresh = batch.filter((r) => r.seq >= next);
      if (fresh.length === 0) return all;
      all.push(...fresh);
      next = fresh[fresh.length - 1]!.seq + 1;
    }
  }

  /**
   * Every log record from `from` on, then new records and app state changes as they happen,
   * until the consumer stops iterating. A dropped stream is reopened and the follow resumed
   * after the last record seen, so nothing is shown twice.
   */
  async *follow(from = 0): AsyncGenerator<DeviceEvent> {
    const queue: DeviceEvent[] = [];
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    let nextSeq = from;
    const push = (event: DeviceEvent) => {
      queue.push(event);
      wake?.();
    };
    const offEvent = this.onEvent(push);
    const refollow = async () => {
      try {
        for (const record of await this.allLogs(nextSeq)) push({ kind: "log", record });
        for (const record of await this.logs(nextSeq, true)) push({ kind: "log", record });
      } catch (err) {
        failure = err as Error;
        wake?.();
      }
    };
    const offReconnect = this.onReconnect((error) => {
      if (!error) return void refollow();
      failure = error;
      wake?.();
    });
    try {
      // Page through the backlog first: one LOGS answer holds only what fits in a frame.
      const backlog = await this.allLogs(from);
      const last = backlog.length ? backlog[backlog.length - 1]!.seq + 1 : from;
      backlog.push(...(await this.logs(last, true)));
      // Events that raced ahead of the answers go after them; duplicates are dropped by seq.
      queue.unshift(...backlog.map((record): DeviceEvent => ({ kind: "log", record })));
      for (;;) {
        while (queue.length) {
          const event = queue.shift()!;
          if (event.kind === "log") {
            // The same record can arrive both in a LOGS answer and as an event around a refollow.
            if (event.record.seq < nextSeq) continue;
            nextSeq = event.record.seq + 1;
          }
          yield event;
        }
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      offEvent();
      offReconnect();
      if (this.transport && !this.transport.closed && !this.closing) {
        await this.logs(nextSeq, false).catch(() => undefined);
      }
    }
  }

  /**
   * Uploads a module (PUT_BEGIN / PUT_CHUNK / PUT_END). Resumable: PUT_BEGIN tells how much of
   * this exact module the device holds, and after a dropped stream the client reconnects, asks
   * again and continues from there without resending what already arrived.
   */
  async put(name: string, wasm: Uint8Array, manifest: string | object, options: PutOptions = {}): Promise<PutResult> {
    const hash = sha256(wasm);
    const manifestText = typeof manifest === "string" ? manifest : JSON.stringify(manifest);
    const chunkSize = Math.max(1, Math.min(options.chunkSize ?? Infinity, this.maxPayload - PUT_CHUNK_OVERHEAD));
    const begin = async (): Promise<number> => {
      const body = new BodyWriter().str8(name).u32(wasm.length).bytes(hash).str16(manifestText).done();
      const r = new BodyReader(await this.request(Cmd.PUT_BEGIN, body, { resend: false }));
      const held = this.decode(Cmd.PUT_BEGIN, () => r.u32("offset"));
      if (held > wasm.length) throw new ProtocolError(`device claims to hold ${held} bytes of a ${wasm.length}-byte module`);
      return held;
    };
    const startReconnects = this.reconnects;
    let offset = await this.withReconnect(begin);
    const resumedFrom = offset;
    let bytesSent = 0;
    const progress = () =>
      options.onProgress?.({ offset, total: wasm.length, resumedFrom, reconnects: this.reconnects - startReconnects });
    progress();
    while (offset < wasm.length) {
      const data = wasm.subarray(offset, offset + chunkSize);
      const body = new BodyWriter().bytes(hash).u32(offset).bytes(data).done();
      try {
        const r = new BodyReader(await this.request(Cmd.PUT_CHUNK, body, { resend: false }));
        const next = this.decode(Cmd.PUT_CHUNK, () => r.u32("next offset"));
        bytesSent += data.length;
        if (next <= offset || next > wasm.length) offset = await this.withReconnect(begin);
        else offset = next;
      } catch (err) {
        if (err instanceof ConnectionLost) {
          // What arrived before the drop is kept by the device: ask it where to go on.
          offset = await this.withReconnect(begin);
        } else if (err instanceof DeviceError && err.status === Status.ERANGE) {
          offset = await this.withReconnect(begin);
        } else throw err;
      }
      progress();
    }
    await options.beforeEnd?.();
    const flags = (options.start ? 1 : 0) | (options.autostart ? 2 : 0);
    const end = async () => {
      const r = new BodyReader(await this.request(Cmd.PUT_END, new BodyWriter().bytes(hash).u8(flags).done()));
      return this.decode(Cmd.PUT_END, () => r.str8("name"));
    };
    const installed = await end();
    return { name: installed, size: wasm.length, sha256: toHex(hash), resumedFrom, bytesSent, reconnects: this.reconnects - startReconnects };
  }

  /**
   * Freezes an app and reads its snapshot (docs/snapshot.md) off the device. `migrating` asks
   * the device to run the app's on_migrate_out hook before the freeze.
   */
  async snapshot(name: string, options: { stop?: boolean; migrating?: boolean } = {}): Promise<Uint8Array> {
    const flags = (options.stop ? 1 : 0) | (options.migrating ? 2 : 0);
    const r = new BodyReader(await this.request(Cmd.SNAPSHOT, new BodyWriter().str8(name).u8(flags).done()));
    const { size, hash } = this.decode(Cmd.SNAPSHOT, () => ({ size: r.u32("size"), hash: r.bytes(32, "sha256") }));
    const out = new Uint8Array(size);
    const step = this.maxPayload - 1;
    let offset = 0;
    while (offset < size) {
      const want = Math.min(step, size - offset);
      const part = await this.request(Cmd.SNAPSHOT_READ, new BodyWriter().str8(name).u32(offset).u16(want).done());
      if (part.length === 0 || part.length > want) throw new ProtocolError(`SNAPSHOT_READ at ${offset} returned ${part.length} bytes (asked ${want})`);
      out.set(part, offset);
      offset += part.length;
    }
    if (toHex(sha256(out)) !== toHex(hash)) throw new ProtocolError(`snapshot of '${name}' arrived corrupted (sha256 mismatch)`);
    return out;
  }

  /**
   * Uploads a snapshot and restores the app from it (resumable like put). `migrating` makes
   * the app's on_migrate_in hook its first event once it runs.
   */
  async restore(name: string, snapshot: Uint8Array, options: { start?: boolean; migrating?: boolean } = {}): Promise<void> {
    const hash = sha256(snapshot);
    const begin = async () => {
      const r = new BodyReader(
        await this.request(Cmd.RESTORE_BEGIN, new BodyWriter().str8(name).u32(snapshot.length).bytes(hash).done(), { resend: false }),
      );
      return this.decode(Cmd.RESTORE_BEGIN, () => r.u32("offset"));
    };
    let offset = await this.withReconnect(begin);
    const step = this.maxPayload - 4;
    while (offset < snapshot.length) {
      const data = snapshot.subarray(offset, offset + step);
      try {
        const r = new BodyReader(await this.request(Cmd.RESTORE_CHUNK, new BodyWriter().u32(offset).bytes(data).done(), { resend: false }));
        offset = this.decode(Cmd.RESTORE_CHUNK, () => r.u32("next offset"));
      } catch (err) {
        if (err instanceof ConnectionLost || (err instanceof DeviceError && err.status === Status.ERANGE)) offset = await this.withReconnect(begin);
        else throw err;
      }
    }
    await this.request(Cmd.RESTORE_END, Uint8Array.of((options.start ? 1 : 0) | (options.migrating ? 2 : 0)));
  }

  // ---- request machinery ----

  /**
   * Sends one request and resolves with the OK body, or rejects with DeviceError (an error
   * status), DeviceTimeoutError or TransportError. `resend: false` turns a dropped stream into
   * ConnectionLost for callers that re-synchronise themselves (uploads).
   */
  request(command: number, body: Uint8Array, options: { resend?: boolean } = {}): Promise<Uint8Array> {
    const run = () => this.exchange(command, body, options.resend ?? true);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private nextSeq(): number {
    this.seq = this.seq >= 0xffff ? 1 : this.seq + 1;
    return this.seq;
  }

  private async exchange(command: number, body: Uint8Array, resend: boolean): Promise<Uint8Array> {
    const seq = this.nextSeq();
    const frame = encodeFrame({ command, flags: 0, seq, payload: body });
    let tries = 0;
    let drops = 0;
    for (;;) {
      if (!this.transport || this.transport.closed) await this.reconnect();
      tries++;
      const outcome = await this.sendAndWait(frame, command, seq);
      if (outcome === "closed") {
        if (this.closing) throw new TransportError(`connection to ${this.url} closed`);
        if (!resend) {
          await this.reconnect();
          throw new ConnectionLost();
        }
        if (++drops > 3) throw new TransportError(`the connection to ${this.url} keeps dropping during ${commandName(command)}`);
        tries--;
        continue;
      }
      if (outcome === "timeout") {
        if (tries > this.retries) {
          throw new DeviceTimeoutError(
            `no answer from the device at ${this.url} to ${commandName(command)} after ${tries} tries: check that the Liquid runtime is running there (liquid info), or pass another --port`,
          );
        }
        continue;
      }
      const payload = outcome.payload;
      if (payload.length === 0) throw new ProtocolError(`empty ${commandName(command)} response (no status byte)`);
      if (payload[0] !== Status.OK) throw new DeviceError(command, payload[0]!, decodeText(payload.subarray(1)));
      return payload.subarray(1);
    }
  }

  private sendAndWait(frame: Uint8Array, command: number, seq: number): Promise<Frame | "closed" | "timeout"> {
    // On a slow line the bytes themselves take time: the request, and an answer of up to a
    // full frame, on top of the device's own time.
    const bps = this.transport?.bytesPerSecond;
    const wireMs = bps ? ((frame.length + MAX_PAYLOAD + 13) / bps) * 1000 : 0;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // The answer may sit behind a truncated frame's claimed length: give up on that first.
        for (const f of this.parser.expire()) this.onFrame(f);
        if (this.waiter?.seq !== seq) return;
        this.waiter = undefined;
        resolve("timeout");
      }, this.timeoutMs + wireMs);
      this.waiter = {
        command,
        seq,
        settle: (outcome) => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve(outcome);
        },
      };
      try {
        this.transport!.write(frame);
      } catch {
        this.waiter.settle("closed");
      }
    });
  }

  private async attach(transport: Transport): Promise<void> {
    this.transport = transport;
    this.parser = new FrameParser();
    transport.onData((data) => {
      for (const frame of this.parser.push(data)) this.onFrame(frame);
    });
    transport.onClose(() => {
      if (this.transport !== transport) return;
      this.waiter?.settle("closed");
      // A follower waits for events, not answers: nothing else would notice the drop. It lets
      // another host that took the device over finish first (followerReconnectDelayMs).
      if (!this.closing && this.reconnectListeners.size > 0) {
        setTimeout(() => {
          if (this.closing || this.transport !== transport) return; // closed, or reopened by a request
          this.reconnect().catch((err: Error) => {
            for (const l of [...this.reconnectListeners]) l(err);
          });
        }, this.followerReconnectDelayMs);
      }
    });
  }

  private onFrame(frame: Frame): void {
    if (frame.version !== PROTOCOL_VERSION) return;
    if (frame.flags & FLAG_EVENT) {
      this.onEventFrame(frame);
      return;
    }
    if (!(frame.flags & FLAG_RESPONSE)) return;
    const w = this.waiter;
    // A late answer to an earlier try or request has another seq: it is not ours to take.
    if (w && w.seq === frame.seq && w.command === frame.command) w.settle(frame);
  }

  private onEventFrame(frame: Frame): void {
    if (frame.command === Cmd.FETCH) {
      const p = frame.payload;
      const n = p[0] ?? 0;
      const r = p[1 + n];
      if (r === undefined || p.length !== 2 + n + r) return; // malformed: nothing to answer
      const name = decodeText(p.subarray(1, 1 + n));
      const range = decodeText(p.subarray(2 + n, 2 + n + r));
      if (this.fetchListeners.size === 0) {
        if (this.unheardFetches.length < 16) this.unheardFetches.push([name, range]);
      } else for (const l of [...this.fetchListeners]) l(name, range);
      return;
    }
    let event: DeviceEvent;
    try {
      const body = JSON.parse(decodeText(frame.payload));
      if (frame.command === Event.LOG) event = { kind: "log", record: body as LogRecord };
      else if (frame.command === Event.APP_STATE) event = { kind: "app", state: body as AppStateEvent };
      else return;
    } catch {
      return; // a corrupt event is not worth failing a session for
    }
    for (const l of [...this.listeners]) l(event);
  }

  /** Reopens the stream once, however many callers notice the drop at the same time. */
  private reconnect(): Promise<void> {
    if (this.transport && !this.transport.closed) return Promise.resolve();
    this.reconnecting ??= this.reopen().finally(() => (this.reconnecting = undefined));
    return this.reconnecting;
  }

  /** Reopens the stream, trying for the reconnect window (a board may take a moment to come back). */
  private async reopen(): Promise<void> {
    if (this.closing) throw new TransportError(`connection to ${this.url} closed`);
    const deadline = Date.now() + this.reconnectWindowMs;
    let delay = 50;
    let lastError: unknown;
    for (;;) {
      try {
        const t = await this.connector();
        await this.attach(t);
        this.reconnects++;
        for (const l of [...this.reconnectListeners]) queueMicrotask(() => l());
        return;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() + delay > deadline) break;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1000);
    }
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    throw new TransportError(`lost the connection to the device and could not reopen it: ${why}`);
  }

  private async withReconnect<T>(step: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await step();
      } catch (err) {
        if (!(err instanceof ConnectionLost) || i >= 5) throw err;
      }
    }
  }

  private decode<T>(command: number, read: () => T): T {
    try {
      return read();
    } catch (err) {
      if (err instanceof BodyError) throw new ProtocolError(`malformed ${commandName(command)} response: ${err.message}`);
      throw err;
    }
  }

  private json<T>(command: number, body: Uint8Array): T {
    try {
      return JSON.parse(decodeText(body)) as T;
    } catch (err) {
      throw new ProtocolError(`malformed ${commandName(command)} response: not JSON (${(err as Error).message})`);
    }
  }
}
