import { createHash } from "node:crypto";
import { ESPLoader, Transport } from "esptool-js";
import { describe, expect, it } from "vitest";
import { verifyMd5 } from "../../compiler/src/flash/esp32-flasher.js";
import { WebSerialPortShim } from "../../compiler/src/flash/web-serial.js";
import { MemoryLink } from "../../host-sim/src/esp32/memory-link.js";
import { Command, ROM_SYNC_VALUE, SYNC_BODY, checksum, putU32, u32 } from "../../host-sim/src/esp32/protocol.js";
import { SimulatedEsp32 } from "../../host-sim/src/esp32/simulated-esp32.js";
import { SlipDecoder, slipEncode } from "../../host-sim/src/esp32/slip.js";
import { pseudoRandom } from "./firmware-image.js";

/** A bare protocol client: sends request packets, collects response packets. */
class RawClient {
  readonly packets: Uint8Array[] = [];
  readonly text: string[] = [];
  private readonly decoder = new SlipDecoder((p) => this.packets.push(p));

  constructor(readonly link: MemoryLink) {
    link.onData((bytes) => {
      this.text.push(Buffer.from(bytes).toString("latin1"));
      this.decoder.push(bytes);
    });
  }

  static async open(chip = new SimulatedEsp32({ powerOn: "download" })): Promise<RawClient> {
    const link = new MemoryLink(chip);
    const client = new RawClient(link);
    await link.open(115200);
    await settle();
    client.packets.length = 0;
    return client;
  }

  async request(op: number, data: Uint8Array = new Uint8Array(0), chk = 0): Promise<Uint8Array[]> {
    const packet = new Uint8Array(8 + data.length);
    packet[1] = op;
    packet[2] = data.length & 0xff;
    packet[3] = data.length >> 8;
    putU32(packet, 4, chk);
    packet.set(data, 8);
    this.packets.length = 0;
    await this.link.write(slipEncode(packet));
    await settle();
    return [...this.packets];
  }
}

/** Lets the in-memory link deliver: host -> chip and chip -> host are one setImmediate hop each,
 * and hops run in order, so a few rounds of setImmediate (not a timer, which a loaded machine
 * can fire first) are sure to see the answers. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 6; i++) await new Promise<void>((r) => setImmediate(r));
};

function words(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => putU32(out, i * 4, v));
  return out;
}

describe("SLIP framing", () => {
  it("escapes 0xC0 and 0xDB, skips noise before a frame and drops frames with bad escapes", () => {
    const payload = Uint8Array.from([1, 0xc0, 2, 0xdb, 3, 0xdb, 0xdc]);
    const frame = slipEncode(payload);
    expect([...frame]).toEqual([0xc0, 1, 0xdb, 0xdc, 2, 0xdb, 0xdd, 3, 0xdb, 0xdd, 0xdc, 0xc0]);
    const got: number[][] = [];
    const decoder = new SlipDecoder((p) => got.push([...p]));
    decoder.push(Uint8Array.from([0x41, 0x42, 0x0d, 0x0a, ...frame]));
    // A frame with an invalid escape is dropped whole; the next good one still arrives.
    decoder.push(Uint8Array.from([0xc0, 9, 0xdb, 0x01, 9, 0xc0, ...slipEncode(Uint8Array.from([7]))]));
    expect(got).toEqual([[...payload], [7]]);
  });
});

describe("the simulated ESP32 ROM loader", () => {
  it("ignores commands until a SYNC, then answers every SYNC eight times", async () => {
    const client = await RawClient.open();
    expect(await client.request(Command.READ_REG, words(0x40001000))).toEqual([]);
    const answers = await client.request(Command.SYNC, SYNC_BODY);
    expect(answers).toHaveLength(8);
    for (const a of answers) {
      expect([...a.subarray(0, 4)]).toEqual([0x01, Command.SYNC, 4, 0]);
      expect(u32(a, 4)).toBe(ROM_SYNC_VALUE);
      expect([...a.subarray(8)]).toEqual([0, 0, 0, 0]);
    }
    const [magic] = await client.request(Command.READ_REG, words(0x40001000));
    expect(u32(magic!, 4)).toBe(0x00f01d83);
  });

  it("rejects bad checksums and unknown commands the way the ROM does", async () => {
    const client = await RawClient.open();
    await client.request(Command.SYNC, SYNC_BODY);
    expect((await client.request(Command.MEM_BEGIN, words(16, 1, 0x1800, 0x3ffb0000)))[0]!.subarray(8)).toEqual(Uint8Array.from([0, 0, 0, 0]));
    const block = Uint8Array.from([...words(16, 0, 0, 0), ...pseudoRandom(16, 9)]);
    const [bad] = await client.request(Command.MEM_DATA, block, checksum(block.subarray(16)) ^ 1);
    expect([...bad!.subarray(8)]).toEqual([1, 0x07, 0, 0]);
    const [good] = await client.request(Command.MEM_DATA, block, checksum(block.subarray(16)));
    expect([...good!.subarray(8)]).toEqual([0, 0, 0, 0]);
    // Not in the ESP32 ROM: "invalid message", without echoing the opcode.
    const [unknown] = await client.request(Command.GET_SECURITY_INFO);
    expect([...unknown!]).toEqual([1, 0, 4, 0, 0, 0, 0, 0, 1, 0x05, 0, 0]);
    const [stubOnly] = await client.request(Command.ERASE_FLASH);
    expect(stubOnly![1]).toBe(0);
    // Jumping to an entry point nobody loaded crashes the CPU.
    await client.request(Command.MEM_END, words(0, 0x40090000));
    expect(client.text.join("")).toContain("Guru Meditation Error");
    expect(client.link.chip.mode).toBe("halted");
    expect(await client.request(Command.SYNC, SYNC_BODY)).toEqual([]);
  });

  it("garbles bytes when host and chip disagree on the baud rate", async () => {
    const client = await RawClient.open();
    await client.request(Command.SYNC, SYNC_BODY);
    const [ok] = await client.request(Command.CHANGE_BAUDRATE, words(921600, 0));
    expect([...ok!.subarray(8)]).toEqual([0, 0, 0, 0]); // answered at the old rate
    expect(await client.request(Command.READ_REG, words(0x40001000))).toEqual([]);
    await client.link.setBaudRate(921600);
    const [magic] = await client.request(Command.READ_REG, words(0x40001000));
    expect(u32(magic!, 4)).toBe(0x00f01d83);
  });

  it("runs the stub protocol esptool-js uses to read flash back (READ_FLASH with acks, then MD5)", async () => {
    const chip = new SimulatedEsp32();
    const data = pseudoRandom(20000, 5);
    chip.flash.write(0x20000, data);
    const transport = new Transport(new WebSerialPortShim(new MemoryLink(chip)) as never, false);
    transport.trace = () => {};
    const loader = new ESPLoader({ transport, baudrate: 460800, terminal: { clean() {}, write() {}, writeLine() {} } });
    try {
      await loader.main();
      expect(chip.mode).toBe("stub");
      const back = await loader.readFlash(0x20000, data.length);
      expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
      expect(await loader.flashMd5sum(0x20000, data.length)).toBe(createHash("md5").update(data).digest("hex"));
      await loader.eraseFlash();
      expect(chip.flash.bytes.every((b) => b === 0xff)).toBe(true);
    } finally {
      await transport.disconnect();
    }
  });
});

describe("flashing through the ROM alone (no stub)", () => {
  it.each([true, false])("writes and verifies with compress=%s (the ROM answers MD5 as hex text)", async (compress) => {
    const chip = new SimulatedEsp32();
    const transport = new Transport(new WebSerialPortShim(new MemoryLink(chip)) as never, false);
    transport.trace = () => {};
    const loader = new ESPLoader({ transport, baudrate: 115200, terminal: { clean() {}, write() {}, writeLine() {} } });
    const data = pseudoRandom(30000, 11);
    try {
      await loader.connect();
      await loader.writeFlash({
        fileArray: [{ data, address: 0x30000 }],
        flashMode: "keep",
        flashFreq: "keep",
        flashSize: "keep",
        eraseAll: false,
        compress,
      });
      expect(chip.mode).toBe("download");
      expect(Buffer.from(chip.flash.read(0x30000, data.length)).equals(Buffer.from(data))).toBe(true);
      // esptool-js hex-encodes the ROM's hex text once more; liquid flash's check undoes that.
      expect(await loader.flashMd5sum(0x30000, data.length)).toBe(Buffer.from(createHash("md5").update(data).digest("hex")).toString("hex"));
      await verifyMd5(loader, { name: "data.bin", address: 0x30000, data });
      chip.flash.write(0x30000 + data.findIndex((b) => b !== 0), Uint8Array.from([0])); // a bit flips in flash
      await expect(verifyMd5(loader, { name: "data.bin", address: 0x30000, data })).rejects.toThrow(/^verification failed for data\.bin at 0x30000/);
    } finally {
      await transport.disconnect();
    }
  });
});

describe("the simulated ESP32 under garbage", () => {
  it("never throws, whatever arrives, in ROM or stub mode, and still answers a SYNC afterwards", () => {
    const chip = new SimulatedEsp32({ powerOn: "download" });
    const out: Uint8Array[] = [];
    chip.onTransmit((b) => out.push(b));
    const send = (op: number, data: Uint8Array, chk = 0): void => {
      const packet = new Uint8Array(8 + data.length);
      packet[1] = op;
      packet[2] = data.length & 0xff;
      packet[3] = data.length >> 8;
      putU32(packet, 4, chk);
      packet.set(data, 8);
      chip.receive(slipEncode(packet));
    };
    const code = pseudoRandom(64, 3);
    const enter = (mode: "download" | "stub"): void => {
      if (chip.mode !== "download") chip.pressReset(true);
      send(Command.SYNC, SYNC_BODY);
      if (mode === "stub") {
        send(Command.MEM_BEGIN, words(64, 1, 0x1800, 0x40090000));
        send(Command.MEM_DATA, Uint8Array.from([...words(64, 0, 0, 0), ...code]), checksum(code));
        send(Command.MEM_END, words(0, 0x40090000));
      }
      expect(chip.mode).toBe(mode);
    };
    const rnd = pseudoRandom(300_000, 77);
    let r = 0;
    const next = (n: number): Uint8Array => {
      if (r + n > rnd.length) r = 0;
      const bytes = rnd.subarray(r, r + n);
      r += n;
      return bytes;
    };
    const ops = Object.values(Command);
    const modes: Array<"download" | "stub"> = ["download", "stub"];
    for (const mode of modes) {
      enter(mode);
      for (let i = 0; i < 4000; i++) {
        if (chip.mode !== mode) enter(mode);
        const kind = next(1)[0]! % 4;
        if (kind === 0) {
          chip.receive(next(1 + (next(1)[0]! % 64))); // line noise
        } else if (kind === 1) {
          // well framed, real opcode, random and mostly inconsistent fields
          send(ops[next(1)[0]! % ops.length]!, Uint8Array.from(next(next(1)[0]! % 48)), next(1)[0]!);
        } else if (kind === 2) {
          // a plausible transfer start: small size, small blocks, a flash or RAM address
          const op = [Command.FLASH_BEGIN, Command.FLASH_DEFL_BEGIN, Command.MEM_BEGIN, Command.ERASE_REGION, Command.SPI_FLASH_MD5][next(1)[0]! % 5]!;
          const address = op === Command.MEM_BEGIN ? 0x3ffb0000 : ((next(1)[0]! << 14) + (next(1)[0]! % 2) * 8) >>> 0;
          send(op, words(next(1)[0]! * 8, next(1)[0]! % 4, 16 + (next(1)[0]! % 48), address));
        } else {
          // a data block with a correct length and checksum but a random sequence number
          const op = [Command.FLASH_DATA, Command.FLASH_DEFL_DATA, Command.MEM_DATA][next(1)[0]! % 3]!;
          const payload = Uint8Array.from(next(next(1)[0]! % 80));
          send(op, Uint8Array.from([...words(payload.length, next(1)[0]! % 4, 0, 0), ...payload]), checksum(payload));
        }
      }
      enter(mode);
      out.length = 0;
      send(Command.SYNC, SYNC_BODY);
      expect(out.length).toBe(mode === "stub" ? 1 : 8);
    }
  });
});
