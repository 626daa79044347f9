/** Streamed output split into lines. */
import { StringDecoder } from 'node:string_decoder';

/** maxLineLength splits longer lines, so one runaway line cannot grow without bound. Characters. */
export const maxLineLength = 64 * 1024;

/**
 * LineSplitter turns chunks of text or bytes (UTF-8, split anywhere, even inside a character)
 * into lines without their `\n` or `\r\n` ending; lines longer than maxLineLength are cut.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  write(chunk: Buffer | string): void {
    let text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      this.emit(text.slice(0, nl));
      text = text.slice(nl + 1);
    }
    while (text.length > maxLineLength) {
      this.emit(text.slice(0, maxLineLength));
      text = text.slice(maxLineLength);
    }
    this.partial = text;
  }

  /** end delivers the last line when the output did not end with a newline. */
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest !== '') this.emit(rest);
  }

  private emit(line: string): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
