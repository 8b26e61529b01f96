// AssemblyScript twin of bench/workloads/crc32.c (same data, same checksum). Static buffers
// come from memory.data, as low-level AssemblyScript on a device would keep them.
const BUF_SIZE: i32 = 16384;
const buffer: usize = memory.data(BUF_SIZE);
const table: usize = memory.data(256 * 4);

export function run(n: i32): i32 {
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
    store<u32>(table + (<usize>i << 2), c);
  }
  let seed: u32 = 12345;
  for (let i = 0; i < BUF_SIZE; i++) {
    seed = seed * 1664525 + 1013904223;
    store<u8>(buffer + <usize>i, <u8>(seed >> 24));
  }
  let crc: u32 = 0xffffffff;
  for (let pass = 0; pass < n; pass++) {
    for (let i = 0; i < BUF_SIZE; i++) {
      const index = (crc ^ load<u8>(buffer + <usize>i)) & 0xff;
      crc = load<u32>(table + (<usize>index << 2)) ^ (crc >> 8);
    }
  }
  return <i32>~crc;
}
