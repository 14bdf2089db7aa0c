// Photos before upload: read the position the camera wrote into the JPEG (EXIF GPS), then
// shrink the picture in the browser so a report uploads quickly on a weak signal.
//
// Why a client-side EXIF reader: redrawing a photo on a canvas drops its metadata, so the
// resized upload can no longer tell the server where it was taken. Reading the GPS tags here,
// from the original file that never leaves the phone, works offline too and does not upload the
// original (with all its metadata) a second time. The server's own `location_hint` is still used
// when it comes back.

export interface GpsPoint {
  lat: number;
  lon: number;
}

/** The GPS position in a JPEG's EXIF (APP1 → TIFF IFD0 → GPS IFD), or null. Never throws. */
export async function readExifGps(file: Blob): Promise<GpsPoint | null> {
  try {
    const buffer = await file.slice(0, 256 * 1024).arrayBuffer();
    return exifGpsFromBuffer(buffer);
  } catch {
    return null;
  }
}

export function exifGpsFromBuffer(buffer: ArrayBuffer): GpsPoint | null {
  try {
    const view = new DataView(buffer);
    if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return null; // not a JPEG
    let offset = 2;
    while (offset + 4 <= view.byteLength) {
      if (view.getUint8(offset) !== 0xff) return null;
      const marker = view.getUint8(offset + 1);
      if (marker === 0xff) {
        offset += 1; // fill byte
        continue;
      }
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        offset += 2; // markers without a length
        continue;
      }
      if (marker === 0xda || marker === 0xd9) return null; // image data starts: no EXIF found
      const length = view.getUint16(offset + 2);
      if (length < 2) return null;
      if (marker === 0xe1 && isExifHeader(view, offset + 4)) {
        const end = Math.min(offset + 2 + length, view.byteLength);
        return gpsFromTiff(view, offset + 10, end);
      }
      offset += 2 + length;
    }
    return null;
  } catch {
    return null; // a truncated or odd file: no position, not an error
  }
}

function isExifHeader(view: DataView, at: number): boolean {
  if (at + 6 > view.byteLength) return false;
  const bytes = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]; // "Exif\0\0"
  return bytes.every((b, i) => view.getUint8(at + i) === b);
}

function gpsFromTiff(view: DataView, tiff: number, end: number): GpsPoint | null {
  const order = view.getUint16(tiff);
  if (order !== 0x4949 && order !== 0x4d4d) return null;
  const little = order === 0x4949;
  const u16 = (at: number) => {
    if (at + 2 > end) throw new RangeError("exif");
    return view.getUint16(at, little);
  };
  const u32 = (at: number) => {
    if (at + 4 > end) throw new RangeError("exif");
    return view.getUint32(at, little);
  };
  if (u16(tiff + 2) !== 42) return null;

  const entries = (ifd: number) => {
    const count = u16(ifd);
    if (count > 500) throw new RangeError("exif");
    const out = new Map<number, { type: number; count: number; at: number }>();
    for (let i = 0; i < count; i++) {
      const at = ifd + 2 + i * 12;
      out.set(u16(at), { type: u16(at + 2), count: u32(at + 4), at: at + 8 });
    }
    return out;
  };

  const ifd0 = entries(tiff + u32(tiff + 4));
  const gpsPointer = ifd0.get(0x8825);
  if (!gpsPointer) return null;
  const gps = entries(tiff + u32(gpsPointer.at));

  const ref = (tag: number): string => {
    const e = gps.get(tag);
    if (!e || e.type !== 2) return "";
    return String.fromCharCode(view.getUint8(e.at)); // ASCII "N"/"S"/"E"/"W", stored inline
  };
  const degrees = (tag: number): number | null => {
    const e = gps.get(tag);
    if (!e || e.type !== 5 || e.count < 3) return null; // three RATIONALs
    const base = tiff + u32(e.at);
    const part = (i: number) => {
      const denominator = u32(base + i * 8 + 4);
      return denominator === 0 ? 0 : u32(base + i * 8) / denominator;
    };
    return part(0) + part(1) / 60 + part(2) / 3600;
  };

  let lat = degrees(2);
  let lon = degrees(4);
  if (lat === null || lon === null) return null;
  if (ref(1) === "S") lat = -lat;
  if (ref(3) === "W") lon = -lon;
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return null;
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180 || (lat === 0 && lon === 0)) return null;
  return { lat, lon };
}

export interface ResizedPhoto {
  blob: Blob;
  width: number;
  height: number;
}

/** Redraw the photo with its longest side at most maxSide px, as a JPEG (this also drops EXIF). */
export async function resizePhoto(file: Blob, maxSide = 1600, quality = 0.85): Promise<ResizedPhoto> {
  const source = await decode(file);
  try {
    const scale = Math.min(1, maxSide / Math.max(source.width, source.height));
    const width = Math.max(1, Math.round(source.width * scale));
    const height = Math.max(1, Math.round(source.height * scale));
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d");
    if (!context) throw new Error("no canvas");
    context.fillStyle = "#fff"; // transparent PNGs become white, not black
    context.fillRect(0, 0, width, height);
    context.drawImage(source.image, 0, 0, width, height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
    if (!blob) throw new Error("could not encode the photo");
    return { blob, width, height };
  } finally {
    source.close();
  }
}

async function decode(file: Blob): Promise<{ image: CanvasImageSource; width: number; height: number; close: () => void }> {
  if ("createImageBitmap" in window) {
    try {
      const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
      return { image: bitmap, width: bitmap.width, height: bitmap.height, close: () => bitmap.close() };
    } catch {
      // fall through to <img>, which some browsers decode more formats with
    }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.decoding = "async";
    img.src = url;
    await img.decode();
    return { image: img, width: img.naturalWidth, height: img.naturalHeight, close: () => URL.revokeObjectURL(url) };
  } catch (error) {
    URL.revokeObjectURL(url);
    throw error;
  }
}
