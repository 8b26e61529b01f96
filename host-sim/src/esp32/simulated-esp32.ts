import pako from "pako";
import { ESP32, type ChipProfile } from "./chips.js";
import {
  Command,
  ROM_SYNC_VALUE,
  RomError,
  StubError,
  SYNC_BODY,
  checksum,
  putU32,
  u32,
} from "./protocol.js";
import { SlipDecoder, slipEncode } from "./slip.js";
import { SpiFlash } from "./spi-flash.js";

/**
 * What the chip is doing: held in reset (EN low), in the mask ROM's serial download mode, running
 * the flasher stub the host uploaded, booted from flash, or halted after a crash (until reset).
 */
export type ChipMode = "reset" | "download" | "stub" | "booted" | "halted";

export interface SimulatedEsp32Options {
  chip?: ChipProfile;
  flash?: SpiFlash;
  /** Where the chip is at power-on. A board on a bare UART or a pty has no reset lines, so a
   * simulator behind one starts in download mode; with DTR/RTS it starts booted from flash. */
  powerOn?: "download" | "booted";
  /** The first N SYNC requests get no answer (a chip still starting, or a noisy line). */
  ignoreSyncs?: number;
}

/** Register base of the SPI flash controller (SPI1) and the registers esptool drives. */
const SPI_BASE = 0x3ff42000;
const SPI_CMD_REG = SPI_BASE + 0x00;
const SPI_USR2_REG = SPI_BASE + 0x24;
const SPI_W0_REG = SPI_BASE + 0x80;
const SPI_CMD_USR = 1 << 18;
const CHIP_DETECT_MAGIC_REG = 0x40001000;
const ROM_BAUD = 115200;

/** RAM the ROM accepts MEM_BEGIN for (ESP32 internal DRAM and IRAM). */
const RAM_REGIONS: Array<[number, number]> = [
  [0x3ff90000, 0x40000000],
  [0x40070000, 0x400c2000],
];

interface RamSegment {
  address: number;
  data: Uint8Array;
}

interface MemTransfer {
  address: number;
  size: number;
  blockSize: number;
  nextSeq: number;
  segment: RamSegment;
}

interface FlashTransfer {
  offset: number;
  /** Bytes the transfer may write: the exact image size (stub) or the erased size (ROM). */
  size: number;
  blockSize: number;
  written: number;
  nextSeq: number;
  inflater?: pako.Inflate;
  failed?: number;
}

interface ReadTransfer {
  offset: number;
  size: number;
  blockSize: number;
  maxInFlight: number;
  sent: number;
  acked: number;
}

class ProtocolFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A simulated ESP32 on the far side of a UART: the mask ROM's serial loader, the flasher stub's
 * extended command set once one is uploaded and started, a 4 MiB SPI flash, and the two strap
 * lines an auto-reset circuit drives from DTR/RTS. It does not execute Xtensa code: an uploaded
 * stub is accepted when its entry point lies in the RAM the host loaded, and from then on the
 * chip answers as the esptool stub protocol specifies; booting from flash prints what the ROM
 * would print while loading the image, then stops.
 */
export class SimulatedEsp32 {
  readonly chip: ChipProfile;
  readonly flash: SpiFlash;
  /** Everything the chip printed as text (boot banners), for tests and the pty runner's log. */
  readonly console: string[] = [];
  /** One line per notable event (resets, stub start, baud changes, flash writes). */
  readonly events: string[] = [];

  private modeValue: ChipMode = "reset";
  private baud = ROM_BAUD;
  private synced = false;
  private syncsToIgnore: number;
  private dtr = false;
  private rts = false;
  private readonly decoder = new SlipDecoder((packet) => this.onPacket(packet));
  private readonly registers = new Map<number, number>();
  private ram: RamSegment[] = [];
  private mem?: MemTransfer;
  private flashTransfer?: FlashTransfer;
  private readTransfer?: ReadTransfer;
  private transmitListener: (bytes: Uint8Array, baud: number) => void = () => {};

  constructor(options: SimulatedEsp32Options = {}) {
    this.chip = options.chip ?? ESP32;
    this.flash = options.flash ?? new SpiFlash();
    this.syncsToIgnore = options.ignoreSyncs ?? 0;
    this.boot(options.powerOn === "download" ? "download" : "booted", "0x1 (POWERON_RESET)");
  }

  get mode(): ChipMode {
    return this.modeValue;
  }

  /** The baud rate the chip's UART runs at now. */
  get baudRate(): number {
    return this.baud;
  }

  /** Where the chip's UART TX goes; `baud` is the rate the bytes were sent at. */
  onTransmit(listener: (bytes: Uint8Array, baud: number) => void): void {
    this.transmitListener = listener;
  }

  /** Bytes arriving on the chip's UART RX. */
  receive(bytes: Uint8Array): void {
    if (this.modeValue === "download" || this.modeValue === "stub") this.decoder.push(bytes);
  }

  /**
   * The USB-UART bridge's modem lines through the usual two-transistor auto-reset circuit: EN is
   * pulled low only while RTS is asserted and DTR is not, GPIO0 only while DTR is asserted and
   * RTS is not. Releasing EN starts the chip; GPIO0 low at that moment selects download mode.
   */
  setLines(lines: { dtr?: boolean; rts?: boolean }): void {
    const wasInReset = this.modeValue === "reset";
    if (lines.dtr !== undefined) this.dtr = lines.dtr;
    if (lines.rts !== undefined) this.rts = lines.rts;
    const enLow = this.rts && !this.dtr;
    const io0Low = this.dtr && !this.rts;
    if (enLow && !wasInReset) {
      this.modeValue = "reset";
      this.events.push("EN low: chip held in reset");
    } else if (!enLow && wasInReset) {
      this.boot(io0Low ? "download" : "booted", "0x1 (POWERON_RESET)");
    }
  }

  /** Someone presses EN/RESET on the board, holding BOOT (GPIO0) or not: what a user does when
   * the port has no modem lines to do it (a pty, a bare UART). */
  pressReset(holdBoot: boolean): void {
    this.events.push(`EN pressed${holdBoot ? " with BOOT held" : ""}`);
    this.boot(holdBoot ? "download" : "booted", "0x1 (POWERON_RESET)");
  }

  private boot(mode: "download" | "booted", reason: string): void {
    this.modeValue = mode;
    this.baud = ROM_BAUD;
    this.synced = false;
    this.decoder.reset();
    this.ram = [];
    this.mem = undefined;
    this.flashTransfer = undefined;
    this.readTransfer = undefined;
    const banner = [`ets Jun  8 2016 00:22:57`, ``];
    if (mode === "download") {
      this.events.push("boot: serial download mode");
      banner.push(`rst:${reason},boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))`, `waiting for download`);
    } else {
      this.events.push("boot: from SPI flash");
      banner.push(`rst:${reason},boot:0x13 (SPI_FAST_FLASH_BOOT)`, ...this.describeFlashBoot());
    }
    this.print(banner.join("\r\n") + "\r\n");
  }

  /** What the ROM prints while it loads the second-stage bootloader from flash offset 0x1000. */
  private describeFlashBoot(): string[] {
    const header = this.flash.read(0x1000, 24);
    if (header[0] !== 0xe9) return ["flash read err, 1000", "ets_main.c 371 "];
    const modes = ["QIO", "QOUT", "DIO", "DOUT"];
    const lines = [`configsip: 0, SPIWP:0xee`, `mode:${modes[header[2]!] ?? "DIO"}, clock div:2`];
    let offset = 0x1000 + 24;
    for (let i = 0; i < header[1]!; i++) {
      const seg = this.flash.read(offset, 8);
      const address = u32(seg, 0);
      const length = u32(seg, 4);
      lines.push(`load:0x${address.toString(16).padStart(8, "0")},len:${length}`);
      offset += 8 + length;
      if (!this.flash.contains(offset, 8)) break;
    }
    lines.push(`entry 0x${u32(header, 4).toString(16).padStart(8, "0")}`);
    lines.push(`(simulated ESP32: the second-stage bootloader is not executed)`);
    return lines;
  }

  private print(text: string): void {
    this.console.push(text);
    this.transmit(new TextEncoder().encode(text));
  }

  private transmit(bytes: Uint8Array): void {
    this.transmitListener(bytes, this.baud);
  }

  private send(packet: Uint8Array): void {
    this.transmit(slipEncode(packet));
  }

  private respond(op: number, value: number, body: Uint8Array = new Uint8Array(0), error = 0): void {
    const statusLength = this.modeValue === "stub" ? 2 : 4;
    const packet = new Uint8Array(8 + body.length + statusLength);
    packet[0] = 0x01;
    packet[1] = op;
    packet[2] = (body.length + statusLength) & 0xff;
    packet[3] = (body.length + statusLength) >> 8;
    putU32(packet, 4, value);
    packet.set(body, 8);
    if (error) {
      packet[8 + body.length] = 1;
      packet[9 + body.length] = error;
    }
    this.send(packet);
  }

  private onPacket(packet: Uint8Array): void {
    if (this.readTransfer && packet.length === 4) {
      this.onReadAck(u32(packet, 0));
      return;
    }
    // A request is direction 0x00, an opcode, a length that matches the data, a checksum word.
    if (packet.length < 8 || packet[0] !== 0x00) return;
    const op = packet[1]!;
    const size = packet[2]! | (packet[3]! << 8);
    const data = packet.subarray(8);
    if (data.length !== size) {
      if (this.synced) this.respond(op, 0, undefined, this.errorCode(RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN));
      return;
    }
    const check = u32(packet, 4);
    if (op === Command.SYNC) {
      this.onSync(data);
      return;
    }
    // The ROM listens for SYNC first: it uses it to find the baud rate, and ignores
    // everything before it.
    if (!this.synced) return;
    try {
      this.dispatch(op, data, check);
    } catch (err) {
      if (err instanceof ProtocolFailure) {
        this.events.push(`error 0x${err.code.toString(16)} on command 0x${op.toString(16)}: ${err.message}`);
        this.respond(op, 0, undefined, err.code);
      } else throw err;
    }
  }

  private onSync(data: Uint8Array): void {
    if (data.length !== SYNC_BODY.length || !data.every((b, i) => b === SYNC_BODY[i])) return;
    if (this.syncsToIgnore > 0) {
      this.syncsToIgnore--;
      return;
    }
    this.synced = true;
    if (this.modeValue === "stub") {
      this.respond(Command.SYNC, 0);
      return;
    }
    // The ROM answers a SYNC eight times over.
    for (let i = 0; i < 8; i++) this.respond(Command.SYNC, ROM_SYNC_VALUE);
  }

  private errorCode(rom: number, stub: number): number {
    return this.modeValue === "stub" ? stub : rom;
  }

  private fail(rom: number, stub: number, message: string): never {
    throw new ProtocolFailure(this.errorCode(rom, stub), message);
  }

  private unsupported(op: number): void {
    if (this.modeValue === "stub") {
      this.respond(op, 0, undefined, StubError.INVALID_COMMAND);
      return;
    }
    // The ROM's "invalid message" answer does not echo the opcode, so a host can tell it from
    // a failed command; esptool treats it as "command not supported by this chip".
    const packet = new Uint8Array(12);
    packet[0] = 0x01;
    packet[2] = 4;
    packet[8] = 1;
    packet[9] = RomError.INVALID_MESSAGE;
    this.send(packet);
  }

  private dispatch(op: number, data: Uint8Array, check: number): void {
    const stub = this.modeValue === "stub";
    switch (op) {
      case Command.READ_REG:
        this.needLength(data, 4);
        this.respond(op, this.readRegister(u32(data, 0)));
        return;
      case Command.WRITE_REG:
        if (data.length === 0 || data.length % 16 !== 0) this.badLength();
        for (let i = 0; i < data.length; i += 16) this.writeRegister(u32(data, i), u32(data, i + 4), u32(data, i + 8));
        this.respond(op, 0);
        return;
      case Command.MEM_BEGIN:
        this.memBegin(data);
        this.respond(op, 0);
        return;
      case Command.MEM_DATA:
        this.memData(data, check);
        this.respond(op, 0);
        return;
      case Command.MEM_END:
        this.memEnd(data);
        return;
      case Command.SPI_ATTACH:
      case Command.SPI_SET_PARAMS:
        this.respond(op, 0);
        return;
      case Command.CHANGE_BAUDRATE: {
        this.needLength(data, 8);
        const baud = u32(data, 0);
        if (baud < 300 || baud > 5_000_000) this.fail(RomError.FAILED_TO_ACT, StubError.BAD_DATA_LEN, `baud ${baud} out of range`);
        // The answer still goes out at the old rate; the UART switches right after it.
        this.respond(op, 0);
        this.baud = baud;
        this.events.push(`baud rate ${baud}`);
        return;
      }
      case Command.FLASH_BEGIN:
      case Command.FLASH_DEFL_BEGIN:
        this.flashBegin(data, op === Command.FLASH_DEFL_BEGIN);
        this.respond(op, 0);
        return;
      case Command.FLASH_DATA:
        this.flashData(data, check, false);
        this.respond(op, 0);
        return;
      case Command.FLASH_DEFL_DATA:
        this.flashData(data, check, true);
        this.respond(op, 0);
        return;
      case Command.FLASH_END:
      case Command.FLASH_DEFL_END:
        this.flashEnd(op, data);
        return;
      case Command.SPI_FLASH_MD5: {
        this.needLength(data, 16);
        const offset = u32(data, 0);
        const size = u32(data, 4);
        if (!this.flash.contains(offset, size)) this.fail(RomError.FLASH_READ_LENGTH_ERROR, StubError.BAD_DATA_LEN, "MD5 range outside the flash");
        const digest = this.flash.md5(offset, size);
        // The ROM answers with 32 hex digits, the stub with the 16 raw bytes.
        this.respond(op, 0, stub ? digest : new TextEncoder().encode(digest.toString("hex")));
        return;
      }
      case Command.GET_SECURITY_INFO: {
        const info = this.chip.securityInfo;
        if (!info || stub) {
          this.unsupported(op);
          return;
        }
        const body = new Uint8Array(20);
        putU32(body, 0, info.flags);
        putU32(body, 12, info.chipId);
        putU32(body, 16, info.apiVersion);
        this.respond(op, 0, body);
        return;
      }
      case Command.ERASE_FLASH:
        if (!stub) return this.unsupported(op);
        this.flash.eraseAll();
        this.events.push("erased the whole flash");
        this.respond(op, 0);
        return;
      case Command.ERASE_REGION: {
        if (!stub) return this.unsupported(op);
        this.needLength(data, 8);
        const offset = u32(data, 0);
        const size = u32(data, 4);
        if (offset % 4096 || size % 4096 || !this.flash.contains(offset, size)) this.fail(0, StubError.BAD_DATA_LEN, "erase region not sector aligned or outside the flash");
        this.flash.erase(offset, size);
        this.respond(op, 0);
        return;
      }
      case Command.READ_FLASH:
        if (!stub) return this.unsupported(op);
        this.readFlashBegin(data);
        return;
      case Command.RUN_USER_CODE:
        if (!stub) return this.unsupported(op);
        this.boot("booted", "0xc (SW_CPU_RESET)");
        return;
      default:
        this.unsupported(op);
    }
  }

  private needLength(data: Uint8Array, length: number): void {
    if (data.length < length) this.badLength();
  }

  private badLength(): never {
    this.fail(RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN, "request body too short");
  }

  private readRegister(address: number): number {
    if (address === CHIP_DETECT_MAGIC_REG) return this.chip.magic;
    if (this.registers.has(address)) return this.registers.get(address)!;
    return this.chip.registers[address] ?? 0;
  }

  private writeRegister(address: number, value: number, mask: number): void {
    const old = this.readRegister(address);
    const next = ((old & ~mask) | (value & mask)) >>> 0;
    this.registers.set(address, next);
    // Starting a user command on the SPI flash controller runs it against the flash chip at
    // once; esptool then polls the CMD register until the USR bit clears.
    if (address === SPI_CMD_REG && next & SPI_CMD_USR) {
      const command = this.readRegister(SPI_USR2_REG) & 0xff;
      if (command === 0x9f) this.registers.set(SPI_W0_REG, this.flash.jedecId);
      else if (command === 0x05) this.registers.set(SPI_W0_REG, 0); // status register: idle
      this.registers.set(SPI_CMD_REG, next & ~SPI_CMD_USR);
    }
  }

  private memBegin(data: Uint8Array): void {
    this.needLength(data, 16);
    const size = u32(data, 0);
    const blockSize = u32(data, 8);
    const address = u32(data, 12);
    const inRam = RAM_REGIONS.some(([start, end]) => address >= start && address + size <= end);
    if (!inRam) this.fail(RomError.FAILED_TO_ACT, StubError.BAD_DATA_LEN, `0x${address.toString(16)}+${size} is not in RAM`);
    const segment = { address, data: new Uint8Array(size) };
    this.ram.push(segment);
    this.mem = { address, size, blockSize, nextSeq: 0, segment };
  }

  private memData(data: Uint8Array, check: number): void {
    const mem = this.mem;
    if (!mem) this.fail(RomError.FAILED_TO_ACT, StubError.NOT_IN_FLASH_MODE, "MEM_DATA without MEM_BEGIN");
    this.needLength(data, 16);
    const length = u32(data, 0);
    const seq = u32(data, 4);
    const payload = data.subarray(16);
    if (payload.length !== length) this.badLength();
    if (checksum(payload) !== (check & 0xff)) this.fail(RomError.INVALID_CRC, StubError.BAD_DATA_CHECKSUM, `RAM block ${seq} checksum mismatch`);
    const at = seq * mem.blockSize;
    if (seq !== mem.nextSeq || at + length > mem.size) this.fail(RomError.FAILED_TO_ACT, StubError.BAD_DATA_LEN, `unexpected RAM block ${seq}`);
    mem.segment.data.set(payload, at);
    mem.nextSeq++;
  }

  private memEnd(data: Uint8Array): void {
    this.needLength(data, 8);
    const noEntry = u32(data, 0);
    const entry = u32(data, 4);
    this.respond(Command.MEM_END, 0);
    this.mem = undefined;
    if (noEntry) return;
    const lands = this.ram.some((seg) => entry >= seg.address && entry < seg.address + seg.data.length);
    if (!lands) {
      // Jumping into RAM nobody loaded: the CPU fetches garbage.
      this.modeValue = "halted";
      this.print(`Guru Meditation Error: Core  0 panic'ed (IllegalInstruction). Exception was unhandled.\r\n`);
      this.events.push(`crashed: entry 0x${entry.toString(16)} is not in loaded RAM`);
      return;
    }
    this.modeValue = "stub";
    this.synced = true;
    this.decoder.reset();
    this.events.push(`stub started at 0x${entry.toString(16)}`);
    this.send(new TextEncoder().encode("OHAI"));
  }

  private flashBegin(data: Uint8Array, compressed: boolean): void {
    this.needLength(data, 16);
    const size = u32(data, 0);
    const blockSize = u32(data, 8);
    const offset = u32(data, 12);
    if (!this.flash.contains(offset, size)) this.fail(RomError.FAILED_TO_ACT, StubError.BAD_DATA_LEN, `0x${offset.toString(16)}+${size} is outside the ${this.flash.size}-byte flash`);
    if (blockSize === 0 && size !== 0) this.fail(RomError.FAILED_TO_ACT, StubError.BAD_BLOCKSIZE, "block size 0");
    this.flash.erase(offset, size);
    this.flashTransfer = { offset, size, blockSize, written: 0, nextSeq: 0 };
    if (compressed) {
      const transfer = this.flashTransfer;
      const inflater = new pako.Inflate();
      inflater.onData = (chunk: Uint8Array) => this.writeInflated(transfer, chunk);
      transfer.inflater = inflater;
    }
  }

  private writeInflated(transfer: FlashTransfer, chunk: Uint8Array): void {
    const room = transfer.size - transfer.written;
    if (chunk.length > room) {
      transfer.failed = this.errorCode(RomError.DEFLATE_ERROR, StubError.TOO_MUCH_DATA);
      return;
    }
    this.flash.write(transfer.offset + transfer.written, chunk);
    transfer.written += chunk.length;
  }

  private flashData(data: Uint8Array, check: number, compressed: boolean): void {
    const transfer = this.flashTransfer;
    if (!transfer || Boolean(transfer.inflater) !== compressed) {
      this.fail(RomError.FAILED_TO_ACT, StubError.NOT_IN_FLASH_MODE, "flash data without a matching begin");
    }
    this.needLength(data, 16);
    const length = u32(data, 0);
    const seq = u32(data, 4);
    const payload = data.subarray(16);
    if (payload.length !== length) this.badLength();
    if (checksum(payload) !== (check & 0xff)) this.fail(RomError.INVALID_CRC, StubError.BAD_DATA_CHECKSUM, `flash block ${seq} checksum mismatch`);
    if (transfer.failed) throw new ProtocolFailure(transfer.failed, `flash transfer already failed`);
    // A block we already took (its answer got lost and the host sent it again) is
    // acknowledged without being applied twice.
    if (seq + 1 === transfer.nextSeq) return;
    if (seq !== transfer.nextSeq) this.fail(RomError.FAILED_TO_ACT, StubError.BAD_DATA_LEN, `block ${seq} out of order (expected ${transfer.nextSeq})`);
    if (transfer.inflater) {
      // Sync flush: write what each block inflates to, as the stub does, instead of buffering.
      transfer.inflater.push(payload, pako.constants.Z_SYNC_FLUSH);
      if (transfer.inflater.err) transfer.failed = this.errorCode(RomError.DEFLATE_ERROR, StubError.INFLATE_ERROR);
      if (transfer.failed) {
        const reason = transfer.inflater.msg || "inflated data longer than announced";
        throw new ProtocolFailure(transfer.failed, `inflate failed at block ${seq}: ${reason}`);
      }
    } else {
      const at = seq * transfer.blockSize;
      const take = Math.max(0, Math.min(payload.length, transfer.size - at));
      if (take === 0) this.fail(RomError.FAILED_TO_ACT, StubError.TOO_MUCH_DATA, `block ${seq} is past the announced ${transfer.size} bytes`);
      this.flash.write(transfer.offset + at, payload.subarray(0, take));
      transfer.written = Math.max(transfer.written, at + take);
    }
    transfer.nextSeq++;
  }

  private flashEnd(op: number, data: Uint8Array): void {
    this.needLength(data, 4);
    const stayInLoader = u32(data, 0) === 1;
    const transfer = this.flashTransfer;
    if (transfer) {
      this.events.push(`flash: wrote ${transfer.written} bytes at 0x${transfer.offset.toString(16)}`);
      const complete = transfer.inflater ? (transfer.inflater as unknown as { ended: boolean }).ended && !transfer.inflater.err : true;
      if (this.modeValue === "stub" && transfer.inflater && (!complete || transfer.written !== transfer.size)) {
        this.flashTransfer = undefined;
        this.fail(0, StubError.NOT_ENOUGH_DATA, `compressed stream ended early: ${transfer.written} of ${transfer.size} bytes`);
      }
    }
    this.flashTransfer = undefined;
    this.respond(op, 0);
    // The stub stays unless told to reboot; for the ROM "1" means leave the loader and run
    // the user code, "0" means reboot.
    if (this.modeValue === "stub") {
      if (!stayInLoader) this.reboot();
    } else this.boot("booted", "0xc (SW_CPU_RESET)");
  }

  private reboot(): void {
    const io0Low = this.dtr && !this.rts;
    this.boot(io0Low ? "download" : "booted", "0xc (SW_CPU_RESET)");
  }

  private readFlashBegin(data: Uint8Array): void {
    this.needLength(data, 16);
    const offset = u32(data, 0);
    const size = u32(data, 4);
    const blockSize = u32(data, 8);
    const maxInFlight = Math.max(1, u32(data, 12));
    if (!this.flash.contains(offset, size) || blockSize === 0) this.fail(0, StubError.BAD_DATA_LEN, "read outside the flash");
    this.respond(Command.READ_FLASH, 0);
    this.readTransfer = { offset, size, blockSize, maxInFlight, sent: 0, acked: 0 };
    this.pumpRead();
  }

  /** Streams flash data packets, at most maxInFlight unacknowledged, then the 16-byte MD5. */
  private pumpRead(): void {
    const t = this.readTransfer;
    if (!t) return;
    while (t.sent < t.size && t.sent - t.acked < t.maxInFlight * t.blockSize) {
      const length = Math.min(t.blockSize, t.size - t.sent);
      this.send(this.flash.read(t.offset + t.sent, length));
      t.sent += length;
    }
    if (t.acked >= t.size) {
      this.readTransfer = undefined;
      this.send(this.flash.md5(t.offset, t.size));
    }
  }

  private onReadAck(count: number): void {
    const t = this.readTransfer!;
    t.acked = Math.max(t.acked, Math.min(count, t.sent));
    this.pumpRead();
  }
}
