import * as api from "./api";

// Photo bytes never change for a sha256, so each is fetched from the shell once per run.
const cache = new Map<string, Promise<string>>();

export function photoUrl(sha256: string): Promise<string> {
  let p = cache.get(sha256);
  if (!p) {
    p = api.photoData(sha256);
    cache.set(sha256, p);
    p.catch(() => cache.delete(sha256));
  }
  return p;
}

/** The file's bytes as base64 (no data: prefix), as add_photo takes them. */
export function fileToBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(reader.error ?? new Error("file could not be read"));
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.readAsDataURL(file);
  });
}
