// Static buffers the SDK passes to the host. Every HAL call copies in or writes out during the
// call itself, so one buffer per role is enough and nothing is allocated per call: with the stub
// runtime (docs/decisions.md) an app that allocated per event would run out of its one page.

/** Capacity of the name buffer: pin, bus and device names and message topics. */
export const NAME_CAP: i32 = 128;
/** Where names and topics are encoded (UTF-8) before a call. */
export const nameBuf: usize = memory.data(NAME_CAP);

/** Capacity of the data buffer: string payloads of messages, register writes. */
export const DATA_CAP: i32 = 256;
/** Where string payloads and small register transfers are staged. */
export const dataBuf: usize = memory.data(DATA_CAP);
