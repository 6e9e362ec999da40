/**
 * Reuses the output buffers of the onednn backend's native kernels.
 *
 * Without it every kernel output is a fresh ArrayBuffer: an FCN training step allocates ~100 MB that only
 * V8's garbage collector gives back. The collector runs because of that external memory, its
 * concurrent marking takes the second core away from oneDNN's thread team mid-convolution, and a new
 * buffer is often fresh memory that page-faults on first write.
 *
 * A buffer is recycled when the tensor that owns it is disposed, and only if nothing else can still see
 * it: the pool marks a buffer *exposed* (never recycled) as soon as its values leave the native
 * kernels: read out (dataSync, data, bufferSync), given to a TensorFlow.js cpu kernel (which may return
 * a view of it, as its Slice does), or viewed by a contiguous slice. Buffers no native kernel made are
 * never recycled either. Every native kernel writes all of its output, so a recycled buffer needs no
 * clearing.
 */
export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  /** The free buffers, oldest release first: the ones a full pool gives up for a new release. */
  private readonly released = new Set<Float32Array>();
  /** Buffers this pool handed out that nothing outside the native kernels has seen. */
  private readonly recyclable = new WeakSet<Float32Array>();
  private pooledBytes = 0;

  /** @param maxBytes what the free lists may hold; a released buffer beyond it is left to the collector. */
  constructor(
    private readonly maxBytes: number,
    private readonly minElements = 1024,
  ) {}

  /** A buffer of `size` floats with unspecified contents, for a kernel that writes all of it. */
  take(size: number): Float32Array {
    const reused = this.free.get(size)?.pop();
    if (reused) {
      this.released.delete(reused);
      this.pooledBytes -= size * 4;
      this.recyclable.add(reused);
      return reused;
    }
    const data = new Float32Array(Buffer.allocUnsafeSlow(size * 4).buffer, 0, size);
    if (size >= this.minElements) this.recyclable.add(data);
    return data;
  }

  /** Something outside the native kernels may hold `values` (or a view of it) from now on. */
  expose(values: unknown): void {
    if (values instanceof Float32Array) this.recyclable.delete(values);
  }

  /**
   * The tensor owning `values` was disposed: keep the buffer for the next output of its size. A full pool gives
   * up its oldest free buffers for it: what is released now is what the work under way takes next. (Keeping the
   * first buffers instead filled the pool with validation's batch-32 activations after an epoch, and each
   * training step's buffers, released while those sat there, went to the collector: fresh memory for every
   * step, sunnybrook-unet's epochs ~15% slower by the fifth.)
   */
  release(values: unknown): void {
    if (!(values instanceof Float32Array) || !this.recyclable.delete(values)) return;
    const bytes = values.length * 4;
    if (bytes > this.maxBytes) return;
    let list = this.free.get(values.length);
    if (!list) {
      list = [];
      this.free.set(values.length, list);
    }
    list.push(values);
    this.released.add(values);
    this.pooledBytes += bytes;
    for (const oldest of this.released) {
      if (this.pooledBytes <= this.maxBytes) break;
      const same = this.free.get(oldest.length)!;
      same.splice(same.indexOf(oldest), 1);
      this.released.delete(oldest);
      this.pooledBytes -= oldest.length * 4;
    }
  }

  /** Bytes held for reuse now. */
  get bytes(): number {
    return this.pooledBytes;
  }

  /** Drops every held buffer (the collector frees them). */
  clear(): void {
    this.free.clear();
    this.released.clear();
    this.pooledBytes = 0;
  }
}
