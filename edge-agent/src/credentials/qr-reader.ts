import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as jsQRModule from 'jsqr';
import type { Options as JsqrOptions, QRCode as JsqrCode } from 'jsqr';
import { readBarcodes, setZXingModuleOverrides } from 'zxing-wasm/reader';
import type { Box, Frame } from '@portail/vision/types.js';
import { bgrRegionToRgba } from './rgba.js';

/** Reads the raw bytes of QR codes in a frame (or a region of it). */
export interface QrReader {
  readonly name: 'zxing-wasm' | 'jsqr';
  read(frame: Frame, roi?: Box): Promise<Uint8Array[]>;
}

// jsqr is CommonJS with an ES-style default in its typings: under NodeNext the default import is
// the module object, whose `default` is the function
const jsQR = (jsQRModule as unknown as { default: (d: Uint8ClampedArray, w: number, h: number, o?: JsqrOptions) => JsqrCode | null }).default;

let zxingReady = false;

/**
 * zxing-cpp compiled to WebAssembly. By default the package fetches its .wasm from a CDN; an edge
 * box has no such access, so the binary shipped in the npm package is handed over instead.
 */
export function createZxingQrReader(opts: { tryHarder?: boolean } = {}): QrReader {
  if (!zxingReady) {
    const require = createRequire(import.meta.url);
    setZXingModuleOverrides({ wasmBinary: readFileSync(require.resolve('zxing-wasm/reader/zxing_reader.wasm')).buffer });
    zxingReady = true;
  }
  let scratch: Uint8ClampedArray | undefined;
  return {
    name: 'zxing-wasm',
    async read(frame, roi) {
      const img = bgrRegionToRgba(frame, roi, scratch);
      scratch = img.data.length > (scratch?.length ?? 0) ? img.data : scratch;
      if (img.width < 21 || img.height < 21) return [];
      const results = await readBarcodes(
        { data: img.data, width: img.width, height: img.height, colorSpace: 'srgb' },
        { formats: ['QRCode'], tryHarder: opts.tryHarder ?? true, tryRotate: true, tryInvert: false, maxNumberOfSymbols: 4 },
      );
      return results.filter((r) => r.isValid && r.bytes.length > 0).map((r) => Uint8Array.from(r.bytes));
    },
  };
}

/** jsQR, pure JavaScript: kept as the comparison point of `npm run bench:qr`. */
export function createJsqrReader(): QrReader {
  return {
    name: 'jsqr',
    read(frame, roi) {
      const img = bgrRegionToRgba(frame, roi);
      if (img.width < 21 || img.height < 21) return Promise.resolve([]);
      const r = jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' });
      return Promise.resolve(r ? [Uint8Array.from(r.binaryData)] : []);
    },
  };
}
