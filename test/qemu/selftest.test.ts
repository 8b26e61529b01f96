// The QEMU mps2-an386 port's drivers on a real (emulated) Cortex-M4F, without the runtime:
// the self-test image blinks LED0, answers line commands on the protocol UART, reads QEMU's
// TMP105 over the bit-banged SBCon I2C bus, checks the flash emulation's rules and reports
// faults. QEMU's temperature is changed over QMP while the firmware runs.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { HAVE_ARM_GCC, HAVE_QEMU, Qemu, armImage, buildArmPort } from "./qemu-harness.js";

const runnable = HAVE_QEMU && HAVE_ARM_GCC;
const title = runnable
  ? "qemu mps2-an386 port self-test"
  : "qemu mps2-an386 port self-test (SKIPPED: qemu-system-arm or arm-none-eabi-gcc is not installed)";

describe.skipIf(!runnable)(title, () => {
  let kernel = "";
  const running: Qemu[] = [];
  async function boot(options: { semihosting?: boolean; qmp?: boolean } = {}): Promise<Qemu> {
    const qemu = await Qemu.start({ kernel, tmp105: true, semihosting: options.semihosting ?? true, qmp: options.qmp });
    running.push(qemu);
    await qemu.waitUart(/ready\n/);
    return qemu;
  }

  beforeAll(async () => {
    const { dir } = await buildArmPort("qemu", ["liquid-qemu-selftest"]);
    kernel = armImage(dir, "liquid-qemu-selftest");
  });

  afterEach(() => {
    while (running.length) running.pop()!.kill();
  });

  it("boots, greets on UART0 and UART1, and blinks LED0 three times", async () => {
    const qemu = await boot();
    expect(qemu.uartText).toMatch(/^liquid qemu selftest\nsemihosting on\nstore ram\n/);
    expect(qemu.console).toContain("liquid qemu selftest: console up");
    // Every write of the LED register, LED0 = bit 0: on, then three off/on blinks, then off.
    // The trace (stderr) and the UART (socket) are separate streams: wait for the last edge.
    const led0 = () => qemu.edges("LED0").map((e) => e.value);
    await qemu.waitFor(() => (led0().length >= 8 ? true : null), () => `LED0 edges: ${led0().join(",")}`);
    expect(led0()).toEqual([1, 0, 1, 0, 1, 0, 1, 0]);
    const first = qemu.edges("LED0")[0];
    console.log(`qemu mps2-an386: boot to first LED0 edge ${first.ms} ms (wall clock, from UART connect)`);
  });

  it("reads the TMP105 over I2C and follows temperature changes made over QMP", async () => {
    const qemu = await boot({ qmp: true });
    expect(await qemu.command("scan")).toBe("scan 0x48");
    await qemu.setTemperature(23500);
    expect(await qemu.command("temp")).toBe("temp 23500");
    await qemu.setTemperature(26500);
    expect(await qemu.command("temp")).toBe("temp 26500");
    // Below zero: the 12-bit two's complement value must come out negative.
    await qemu.setTemperature(-12500);
    expect(await qemu.command("temp")).toBe("temp -12500");
  });

  it("drives LED1 (FPGAIO) and LED9 (SCC), keeps time, enforces flash rules and rejects bad commands", async () => {
    const qemu = await boot();
    expect(await qemu.command("led 1 1")).toBe("ok");
    expect(await qemu.command("led 9 1")).toBe("ok");
    expect(await qemu.command("led 9 0")).toBe("ok");
    await qemu.waitFor(() => (qemu.edges("LED9").length === 2 ? true : null), () => "LED9 edges missing");
    expect(qemu.edges("LED1").map((e) => e.value)).toEqual([1]);
    expect(qemu.edges("LED9").map((e) => e.value)).toEqual([1, 0]);
    expect(await qemu.command("led 10 1")).toBe("error no such led");
    const t1 = Number((await qemu.command("time")).split(" ")[1]);
    const t2 = Number((await qemu.command("time")).split(" ")[1]);
    expect(t1).toBeGreaterThan(0);
    expect(t2).toBeGreaterThanOrEqual(t1);
    expect(await qemu.command("flash")).toBe("flash ok");
    expect(await qemu.command("frobnicate")).toBe("error unknown command: frobnicate");
  });

  it("exits with the status given over semihosting", async () => {
    const qemu = await boot();
    qemu.send("exit 7\n");
    expect(await qemu.waitExit()).toBe(7);
  });

  it("reports a fault with its registers and ends QEMU with status 70", async () => {
    const qemu = await boot();
    qemu.send("fault\n");
    expect(await qemu.waitExit()).toBe(70);
    expect(qemu.console).toMatch(/\*\*\* FAULT: UsageFault\r?\n\s+pc=0x[0-9a-f]{8}/);
    // CFSR bit 16: UNDEFINSTR, the undefined instruction the command executed.
    const cfsr = /cfsr=0x([0-9a-f]{8})/.exec(qemu.console)!;
    expect(parseInt(cfsr[1], 16) & 0x10000).toBe(0x10000);
  });

  it("a stack overflow hits the MPU guard and is reported as such instead of corrupting RAM", async () => {
    const qemu = await boot();
    qemu.send("overflow\n");
    expect(await qemu.waitExit()).toBe(70);
    expect(qemu.console).toContain("stack overflow: the 8 KiB stack ran into its guard");
  });

  it("a firmware that stops kicking the watchdog is reported, then the board resets", async () => {
    const qemu = await boot();
    const from = qemu.uartText.length;
    qemu.send("hang\n");
    await qemu.waitUart(/hanging\n\n\*\*\* WATCHDOG: the firmware stopped kicking the watchdog; the board resets\n[\s\S]*liquid qemu selftest\n/, 10_000, from);
    expect(qemu.exitCode).toBeUndefined();
  });

  it("runs without semihosting, and a fault then reboots the board", async () => {
    const qemu = await boot({ semihosting: false });
    expect(qemu.uartText).toContain("semihosting off");
    qemu.send("fault\n");
    await qemu.waitUart(/FAULT: UsageFault[\s\S]*liquid qemu selftest\nsemihosting off\nstore ram\nready\n/);
    expect(qemu.exitCode).toBeUndefined();
  });
});
