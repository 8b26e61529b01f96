import { BodyError, BodyReader, BodyWriter, encodeText } from "../../../compiler/src/protocol/body.js";
import { Cmd, Event, FLAG_EVENT, FLAG_RESPONSE, MAX_PAYLOAD, PROTOCOL_VERSION, Status } from "../../../compiler/src/protocol/constants.js";
import { FrameParser, encodeFrame, type Frame } from "../../../compiler/src/protocol/frame.js";
import type { AppStateEvent, LogRecord } from "../../../compiler/src/protocol/types.js";
import type { Transport } from "../../../compiler/src/transport/transport.js";
import { DeviceFault, fault } from "./fault.js";
import type { SimulatedDevice } from "./simulated-device.js";

/** The device side of one connection: what the device knows about the peer. */
export interface Peer {
  readonly id: number;
  readonly open: boolean;
}

interface Replay {
  command: number;
  seq: number;
  request: Uint8Array;
  response: Uint8Array;
}

/**
 * Serves the device protocol (docs/protocol.md) for a simulated device over any number of
 * byte streams. Frames are decoded, requests dispatched to the device, and the device's log
 * records and app state changes streamed to connections that follow them. The last request
 * and its response are remembered for the whole device (not per connection), so a client
 * that reconnects and resends gets the answer of the first execution.
 */
export class ProtocolServer {
  private replay: Replay | undefined;
  private nextPeer = 1;
  readonly connections = new Set<ServerConnection>();

  constructor(readonly device: SimulatedDevice) {}

  serve(transport: Transport): ServerConnection {
    const c = new ServerConnection(this, transport, this.nextPeer++);
    this.connections.add(c);
    transport.onClose(() => {
      this.connections.delete(c);
      c.closed();
    });
    return c;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.connections].map((c) => c.transport.close()));
  }

  /** @internal */
  async answer(conn: ServerConnection, frame: Frame): Promise<Uint8Array> {
    const r = this.replay;
    if (r && r.seq === frame.seq && r.command === frame.command && equal(r.request, frame.payload)) return r.response;
    const response = await this.execute(conn, frame);
    this.replay = { command: frame.command, seq: frame.seq, request: frame.payload, response };
    return response;
  }

  private async execute(conn: ServerConnection, frame: Frame): Promise<Uint8Array> {
    try {
      this.device.sync();
      const body = await this.dispatch(conn, frame.command, new BodyReader(frame.payload));
      const out = new Uint8Array(1 + body.length);
      out.set(body, 1);
      return out;
    } catch (err) {
      let status: number = Status.EINTERNAL;
      let message = err instanceof Error ? err.message : String(err);
      if (err instanceof DeviceFault) status = err.status;
      else if (err instanceof BodyError) status = Status.EBADREQ;
      return errorBody(status, message);
    }
  }

  private async dispatch(conn: ServerConnection, command: number, r: BodyReader): Promise<Uint8Array> {
    const d = this.device;
    const empty = new Uint8Array(0);
    switch (command) {
      case Cmd.HELLO: {
        r.u8("client version");
        const h = d.hello();
        return new BodyWriter().u8(PROTOCOL_VERSION).u16(MAX_PAYLOAD).str8(h.firmware).str8(h.version).str8(h.id).done();
      }
      case Cmd.INFO:
        return encodeText(JSON.stringify(d.info()));
      case Cmd.RESET: {
        const mode = r.u8("mode");
        if (mode > 1) throw fault.badRequest(`unknown reset mode ${mode} (0 reboot, 1 factory reset)`);
        // Answer first, reboot after: the client must see the OK before the runtime restarts.
        setImmediate(() => void d.reset(mode === 1));
        return empty;
      }
      case Cmd.PUT_BEGIN: {
        const name = r.str8("name");
        const size = r.u32("size");
        const hash = r.bytes(32, "sha256");
        const manifest = r.str16("manifest");
        r.end("PUT_BEGIN body");
        return new BodyWriter().u32(d.putBegin(conn, name, size, hash, manifest)).done();
      }
      case Cmd.PUT_CHUNK: {
        const hash = r.bytes(32, "sha256");
        const offset = r.u32("offset");
        return new BodyWriter().u32(d.putChunk(conn, hash, offset, r.rest())).done();
      }
      case Cmd.PUT_END: {
        const hash = r.bytes(32, "sha256");
        const flags = r.u8("flags");
        return new BodyWriter().str8(await d.putEnd(hash, flags)).done();
      }
      case Cmd.LIST:
        return encodeText(JSON.stringify(d.list()));
      case Cmd.START:
        await d.start(r.str8("name"));
        return empty;
      case Cmd.STOP:
        d.stop(r.str8("name"));
        return empty;
      case Cmd.REMOVE:
        d.remove(r.str8("name"));
        return empty;
      case Cmd.AUTOSTART: {
        const name = r.str8("name");
        d.setAutostart(name, r.u8("on") !== 0);
        return empty;
      }
      case Cmd.LOGS: {
        const from = r.u32("first seq");
        const follow = r.u8("follow") !== 0;
        conn.following = follow;
        return encodeText(logBatch(d.logsFrom(from)));
      }
      case Cmd.SNAPSHOT: {
        const name = r.str8("name");
        const flags = r.u8("flags");
        const s = await d.snapshot(name, (flags & 1) !== 0, (flags & 2) !== 0);
        return new BodyWriter().u32(s.size).bytes(s.sha256).done();
      }
      case Cmd.SNAPSHOT_READ: {
        const name = r.str8("name");
        const offset = r.u32("offset");
        const max = r.u16("max bytes");
        return d.snapshotRead(name, offset, Math.min(max, MAX_PAYLOAD - 1));
      }
      case Cmd.RESTORE_BEGIN: {
        const name = r.str8("name");
        const size = r.u32("size");
        const hash = r.bytes(32, "sha256");
        return new BodyWriter().u32(d.restoreBegin(conn, name, size, hash)).done();
      }
      case Cmd.RESTORE_CHUNK: {
        const offset = r.u32("offset");
        return new BodyWriter().u32(d.restoreChunk(conn, offset, r.rest())).done();
      }
      case Cmd.RESTORE_END: {
        const flags = r.u8("flags");
        await d.restoreEnd(conn, (flags & 1) !== 0, (flags & 2) !== 0);
        return empty;
      }
      case Cmd.FETCH: {
        // the host could not fetch a library the device asked for
        d.fetchFailed(r.str8("name"), r.str8("range"), r.str16("reason"));
        return empty;
      }
      case Cmd.FW_BEGIN:
      case Cmd.FW_CHUNK:
      case Cmd.FW_END:
        throw fault.invalid("a simulated device has no firmware image to update: restart it with a newer liquid instead");
      default:
        throw fault.unknown(`unknown command 0x${command.toString(16).padStart(2, "0")}`);
    }
  }
}

/** A JSON array of the oldest records that fit in one response (status byte included). */
function logBatch(records: LogRecord[]): string {
  const parts: string[] = [];
  let size = 2 + 1;
  for (const rec of records) {
    const s = JSON.stringify(rec);
    const add = Buffer.byteLength(s) + (parts.length ? 1 : 0);
    if (size + add > MAX_PAYLOAD) break;
    parts.push(s);
    size += add;
  }
  return `[${parts.join(",")}]`;
}

function errorBody(status: number, message: string): Uint8Array {
  const text = encodeText(message).subarray(0, MAX_PAYLOAD - 1);
  const out = new Uint8Array(1 + text.length);
  out[0] = status;
  out.set(text, 1);
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ServerConnection implements Peer {
  open = true;
  following = false;
  private parser = new FrameParser();
  /** Requests are answered in arrival order, one at a time, like the firmware's loop. */
  private work: Promise<void> = Promise.resolve();
  private offLog: () => void;
  private offState: () => void;
  private offFetch: () => void;

  constructor(
    private readonly server: ProtocolServer,
    readonly transport: Transport,
    readonly id: number,
  ) {
    transport.onData((data) => {
      for (const frame of this.parser.push(data)) {
        // A failure answering one frame must not wedge the connection for the next ones.
        this.work = this.work.then(() => this.onFrame(frame)).catch(() => undefined);
      }
    });
    this.offLog = server.device.onLog((record) => {
      if (this.following) this.send(Event.LOG, FLAG_EVENT, 0, encodeText(JSON.stringify(record)));
    });
    this.offState = server.device.onAppState((state: AppStateEvent) => {
      if (this.following) this.send(Event.APP_STATE, FLAG_EVENT, 0, encodeText(JSON.stringify(state)));
    });
    // FETCH goes to the connected host whether or not it follows the log (docs/protocol.md).
    this.offFetch = server.device.onFetch((name, range) => {
      if (this.open) this.send(Cmd.FETCH, FLAG_EVENT, 0, new BodyWriter().str8(name).str8(range).done());
    });
  }

  closed(): void {
    this.open = false;
    this.following = false;
    this.offLog();
    this.offState();
    this.offFetch();
  }

  private async onFrame(frame: Frame): Promise<void> {
    if (frame.flags & (FLAG_RESPONSE | FLAG_EVENT)) return; // hosts only send requests
    if (frame.version !== PROTOCOL_VERSION) {
      this.send(frame.command, FLAG_RESPONSE, frame.seq, errorBody(Status.EVERSION, `protocol version ${frame.version} is not supported; this device speaks ${PROTOCOL_VERSION}`));
      return;
    }
    const response = await this.server.answer(this, frame);
    this.send(frame.command, FLAG_RESPONSE, frame.seq, response);
    // A host starts its session with HELLO: the FETCHes no host answered yet go to it too, as
    // on the firmware (one that was connected already got them when they were asked).
    if (frame.command === Cmd.HELLO) {
      for (const ref of this.server.device.unansweredFetches()) this.send(Cmd.FETCH, FLAG_EVENT, 0, new BodyWriter().str8(ref.name).str8(ref.range).done());
    }
  }

  private send(command: number, flags: number, seq: number, payload: Uint8Array): void {
    if (!this.open || this.transport.closed) return;
    try {
      this.transport.write(encodeFrame({ command, flags, seq, payload }));
    } catch {
      // the peer went away; its close handler cleans up
    }
  }
}
