/**
 * Length-prefixed frames over a byte stream: a 4-byte big-endian length, then that many
 * bytes. TCP splits and coalesces writes freely; the decoder restores the frames.
 */
import type { Socket } from 'node:net';

/** The largest frame a decoder accepts unless told otherwise (a batch of 10 000 small requests fits). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

export class FrameTooLargeError extends Error {
  constructor(
    readonly length: number,
    readonly max: number,
  ) {
    super(`frame of ${length} bytes exceeds the ${max}-byte limit`);
  }
}

/** One frame holding `body`. */
export function encodeFrame(body: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/**
 * Reads JSON frames from `socket` and hands each parsed value to `handle`; unparsable frames
 * are skipped, an oversize frame ends the connection (the stream cannot be trusted past it).
 */
export function onJsonFrames(socket: Socket, handle: (value: unknown) => void, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): void {
  const decoder = new FrameDecoder(maxFrameBytes);
  socket.on('data', (chunk: Buffer) => {
    let frames: Buffer[];
    try {
      frames = decoder.push(chunk);
    } catch {
      return void socket.destroy();
    }
    for (const frame of frames) {
      let value: unknown;
      try {
        value = JSON.parse(frame.toString('utf8'));
      } catch {
        continue;
      }
      handle(value);
    }
  });
}

/** Reassembles frames from the chunks a socket delivers. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Body length of the frame being read, once its header is in. */
  private expected: number | undefined;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** The frames `chunk` completed, in order. Throws FrameTooLargeError as soon as a header announces an oversize frame. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.expected === undefined) {
        if (this.buffered < 4) break;
        const length = this.take(4).readUInt32BE(0);
        if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = undefined;
    }
    return frames;
  }

  /** The next `n` buffered bytes (n ≤ buffered); copies only when they span chunks. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const all = Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    return all.subarray(0, n);
  }
}
