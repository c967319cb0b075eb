// Keeps the memory a process frees for its next allocations, instead of returning it to the
// kernel and faulting it back in a moment later.
//
// Every socket read allocates a buffer (64 KiB) with malloc, and a tunnel at hundreds of MB/s
// frees them in bursts of tens of MiB, after each garbage collection. glibc's malloc gives the
// free top of its heap back to the kernel once it exceeds its trim threshold: 128 KiB until the
// process first frees a chunk malloc had mapped on its own (one above the mmap threshold), then
// twice that chunk's size. Whether and when that happened was chance, so a process either kept
// its heap or refaulted most pages it allocated (up to 87 page faults per MiB carried, up to twice
// the CPU per byte in every process of the tunnel) for its whole life: about half the lifetimes
// of a tunnel ran at half speed.
// Freeing one large mapped chunk at start raises both thresholds in every lifetime. Other
// allocators (musl) ignore it harmlessly.

/**
 * The chunk freed at start. The mmap threshold becomes this size and the trim threshold twice it:
 * a burst of freed buffers up to 62 MiB stays mapped for the next ones. glibc raises the
 * thresholds only for chunks up to 32 MiB, its page and header included.
 */
export const HEAP_KEPT = 31 * 1024 * 1024;

/**
 * Allocates a chunk glibc maps on its own and drops it; the garbage collector frees it at its next
 * pass, before a tunnel's traffic has run long. Never touched, so it costs no page.
 */
export function keepFreedMemory(): void {
  Buffer.allocUnsafeSlow(HEAP_KEPT);
}
