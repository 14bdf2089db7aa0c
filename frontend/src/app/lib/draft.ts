// A photo picked for a report that is still being written.
import { reactive } from "vue";
import { uploadPhoto } from "../../shared/api";
import type { GpsPoint } from "./photos";

export interface DraftPhoto {
  key: string;
  preview: string; // object URL of the resized JPEG
  blob: Blob;
  width: number;
  height: number;
  exifGps: GpsPoint | null;
  mediaId: string | null;
  uploading: Promise<void> | null;
  serverHint: GpsPoint | null;
}

let counter = 0;

export function makeDraftPhoto(blob: Blob, width: number, height: number, exifGps: GpsPoint | null): DraftPhoto {
  counter += 1;
  return reactive({
    key: `p${Date.now()}-${counter}`,
    preview: URL.createObjectURL(blob),
    blob,
    width,
    height,
    exifGps,
    mediaId: null,
    uploading: null,
    serverHint: null,
  }) as DraftPhoto;
}

/** Start uploading now (when online) so submitting is instant; failures are retried later. */
export function startUpload(photo: DraftPhoto): Promise<void> {
  if (photo.mediaId) return Promise.resolve();
  photo.uploading ??= uploadPhoto(photo.blob, "photo.jpg")
    .then((answer) => {
      photo.mediaId = answer.id;
      photo.serverHint = answer.location_hint ?? null;
    })
    .catch(() => undefined)
    .finally(() => {
      photo.uploading = null;
    });
  return photo.uploading;
}

export function releaseDraftPhoto(photo: DraftPhoto): void {
  URL.revokeObjectURL(photo.preview);
}
